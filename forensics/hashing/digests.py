"""Cryptographic digests of evidence, computed in one streaming read."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20


@dataclass(frozen=True)
class Digests:
    md5: str
    sha1: str
    sha256: str
    size: int


class MultiHasher:
    """MD5, SHA-1 and SHA-256 fed from the same bytes, so evidence is read once."""

    def __init__(self) -> None:
        self._h = (hashlib.md5(), hashlib.sha1(), hashlib.sha256())
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        for h in self._h:
            h.update(data)
        self.size += len(data)

    def result(self) -> Digests:
        md5, sha1, sha256 = (h.hexdigest() for h in self._h)
        return Digests(md5, sha1, sha256, self.size)


def digest_stream(f: BinaryIO, keep_up_to: int = 0) -> tuple[Digests, bytes | None]:
    """Hash a stream to its end. If its size is at most keep_up_to, also return its bytes."""
    hasher = MultiHasher()
    kept: list[bytes] | None = [] if keep_up_to > 0 else None
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            break
        hasher.update(chunk)
        if kept is not None:
            if hasher.size <= keep_up_to:
                kept.append(chunk)
            else:
                kept = None
    return hasher.result(), (b"".join(kept) if kept is not None else None)


def sha256_file(path: str | bytes | os.PathLike) -> str:
    """SHA-256 of a file read in 1 MiB blocks (query images, hash-set files, reports)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()
