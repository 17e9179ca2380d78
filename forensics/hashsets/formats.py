"""Streaming readers for known-hash set files.

Every reader yields `HashRecord`s one at a time (or `BadRecord`s for lines it cannot use),
so a multi-gigabyte set is never held in memory. Formats: hash lists (one hash per line:
md5sum/sha1sum/sha256sum output, bare hex, with or without a header, BSD "MD5 (f) = h"),
NSRL RDS v3 (SQLite), Project VIC VICS JSON 1.x ("odata.metadata") and 2.0
("@odata.context").
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HEX_LEN = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BSD = re.compile(r"^(MD5|SHA1|SHA256|SHA-1|SHA-256)\s*\(.*\)\s*=\s*([0-9a-fA-F]+)\s*$")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class HashRecord:
    """One known file: at least one of md5/sha1/sha256 (lower-case hex)."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    category: int | None = None
    series: str | None = None
    victim_identified: bool | None = None
    phash: int | None = None  # signed int64, from a VICS pHash alternative hash
    alt_hashes: tuple = ()  # ({"HashName":..., "HashValue":...}, ...) as given
    extra: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class BadRecord:
    line: int
    message: str


class FormatError(Exception):
    pass


def detect(path: Path) -> str:
    """'nsrl-rds3', 'vics-json' or 'hashlist', from the first bytes of the file."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"SQLite format 3\x00"):
        return "nsrl-rds3"
    text = head[3:] if head.startswith(BOM) else head
    if text.lstrip()[:1] in (b"{", b"["):
        return "vics-json"
    return "hashlist"


def norm_hex(value, kind: str | None = None) -> str | None:
    """Lower-case hex of the right length for `kind` (or any md5/sha1/sha256 length)."""
    if value is None:
        return None
    s = str(value).strip().lower()
    if not s:
        return None
    if not _HEX.match(s) or (kind and HEX_LEN.get(len(s)) != kind) or (not kind and len(s) not in HEX_LEN):
        raise ValueError(f"not a{'n' if (kind or 'md5')[0] in 'aeiou' else ''} {kind or 'hash'}: {str(value)[:80]!r}")
    return s


def read_hashlist(path: Path) -> Iterator[HashRecord | BadRecord]:
    """One hash per line; the hash is the first field (md5sum style) or after '=' (BSD)."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(BOM):
                raw = raw[3:]
            line = raw.decode("utf-8", "replace").strip()
            if not line or line.startswith("#"):
                continue
            m = _BSD.match(line)
            token = m.group(2) if m else re.split(r"[\s,;]", line, maxsplit=1)[0].lstrip("\\")
            kind = HEX_LEN.get(len(token))
            if kind is None or not _HEX.match(token):
                if n == 1:  # a header ("MD5", "md5,filename", ...)
                    continue
                yield BadRecord(n, f"no MD5/SHA-1/SHA-256 hash at the start of the line: {line[:80]!r}")
                continue
            yield HashRecord(**{kind: token.lower()})


def read_nsrl(path: Path) -> Iterator[HashRecord | BadRecord]:
    """NSRL RDS v3: the FILE table (sha256, sha1, md5, ...), streamed from the database."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0].upper(): r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        table = tables.get("FILE") or tables.get("DISTINCT_HASH")
        if table is None:
            raise FormatError(f"{path} is an SQLite database without an NSRL RDS v3 FILE table")
        cols = {r[1].lower(): r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
        pick = [cols.get(c) for c in ("md5", "sha1", "sha256")]
        if not any(pick):
            raise FormatError(f"{path}: table {table} has no md5/sha1/sha256 column")
        sel = ", ".join(f'"{c}"' if c else "NULL" for c in pick)
        for n, (md5, sha1, sha256) in enumerate(conn.execute(f'SELECT {sel} FROM "{table}"'), 1):
            try:
                yield HashRecord(norm_hex(md5, "md5"), norm_hex(sha1, "sha1"), norm_hex(sha256, "sha256"))
            except ValueError as exc:
                yield BadRecord(n, str(exc))
    finally:
        conn.close()
