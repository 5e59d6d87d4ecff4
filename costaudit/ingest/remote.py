"""Logs named by fsspec URLs (`s3://bucket/logs/*.jsonl`, `gs://…`, `az://…`, `https://…`), for the Dask
engine: the only place costaudit reads over a network, and only when the user names such a URL.

A URL is expanded here into its files (a glob, a "directory" prefix, or one object), and each file is
opened by the worker that reads it, through fsspec and the protocol's own package (s3fs, gcsfs,
adlfs; `https://` needs aiohttp), which the user installs with the credentials the cluster already
has. The bytes then go through the same decompression and reading as a local file's.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from costaudit.errors import InputError
from costaudit.ingest.sources import (
    LOG_SUFFIXES,
    READ_BUFFER_BYTES,
    Source,
    Stream,
    decompressed,
    without_bom,
)

GLOB_CHARACTERS = frozenset("*?[")


def is_url(spec: str) -> bool:
    """Whether an input names a URL (`scheme://…`) rather than a local path."""
    scheme, separator, _ = spec.partition("://")
    return bool(separator) and scheme.isidentifier()


def _fsspec(spec: str) -> Any:
    try:
        import fsspec
    except ImportError:
        raise InputError(
            spec,
            "reading URLs needs fsspec and the protocol's package: pip install 'costaudit[dask]'",
        ) from None
    return fsspec


@dataclass(frozen=True)
class UrlSource(Source):
    """One file behind a URL, opened where it is read."""

    url: str = ""

    @contextlib.contextmanager
    def open(self) -> Iterator[Stream]:
        fsspec = _fsspec(self.url)
        try:
            opened = fsspec.open(self.url, "rb")
            remote = opened.open()
        except (OSError, ValueError, ImportError) as exc:
            raise InputError(self.name, f"cannot open: {exc}") from None
        try:
            raw = io.BufferedReader(_Readable(remote), READ_BUFFER_BYTES)
            yield without_bom(decompressed(raw, self.name))
        finally:
            remote.close()


class _Readable(io.RawIOBase):
    """A file-like object of fsspec as a raw stream (buffered by the caller)."""

    def __init__(self, remote: Any) -> None:
        super().__init__()
        self._remote = remote

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._remote.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def expand_urls(spec: str) -> list[UrlSource]:
    """The files a URL names: the matches of a glob, the log files under a prefix, or the object."""
    fsspec = _fsspec(spec)
    try:
        filesystem, path = fsspec.core.url_to_fs(spec)
        protocol = spec.partition("://")[0]
        if GLOB_CHARACTERS & set(path):
            found = sorted(filesystem.glob(path))
        elif filesystem.isdir(path):
            found = sorted(
                name for name in filesystem.find(path) if name.lower().endswith(LOG_SUFFIXES)
            )
        elif filesystem.exists(path):
            found = [path]
        else:
            raise InputError(spec, "file not found")
    except (OSError, ValueError, ImportError) as exc:
        raise InputError(spec, f"cannot list: {exc}") from None
    files = [name for name in found if not filesystem.isdir(name)]
    if not files:
        raise InputError(spec, "matches no files")
    urls = [filesystem.unstrip_protocol(name) if "://" not in name else name for name in files]
    if protocol == "file":
        urls = [url if url.startswith("file://") else f"file://{url}" for url in urls]
    return [UrlSource(name=url, path=None, url=url) for url in urls]


def expand_all(specs: Sequence[str]) -> list[Source]:
    """Every input in order: URLs expanded here, local paths as the reader expands them."""
    from costaudit.ingest.sources import expand_sources

    sources: list[Source] = []
    for spec in specs:
        sources += expand_urls(spec) if is_url(spec) else expand_sources([spec])
    return sources
