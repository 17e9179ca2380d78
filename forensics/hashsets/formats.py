"""Streaming readers for known-hash set files.

Every reader yields `HashRecord`s one at a time (or `BadRecord`s for lines it cannot use),
so a multi-gigabyte set is never held in memory. Formats: hash lists (one hash per line:
md5sum/sha1sum/sha256sum output, bare hex, with or without a header, BSD "MD5 (f) = h"),
NSRL RDS v3 (SQLite), Project VIC VICS JSON 1.x ("odata.metadata") and 2.0
("@odata.context"). Text files may be UTF-8 (with or without BOM) or UTF-16 LE/BE.
"""
from __future__ import annotations

import io
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HEX_LEN = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BSD = re.compile(r"^(MD5|SHA1|SHA256|SHA-1|SHA-256)\s*\(.*\)\s*=\s*([0-9a-fA-F]+)\s*$")


@dataclass(frozen=True)
class HashRecord:
    """One known file: at least one of md5/sha1/sha256 (lower-case hex)."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    category: int | None = None
    series: str | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    is_distributed: bool | None = None
    media_size: int | None = None
    phash: int | None = None  # signed int64, from a VICS pHash alternative hash
    alt_hashes: tuple = ()  # ({"HashName":..., "HashValue":...}, ...) as given
    extra: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class BadRecord:
    line: int
    message: str


class FormatError(Exception):
    pass


class ReadPosition:
    """How far a streaming reader has got through its source, for a progress bar: `done`
    of `total` bytes of a text file, or rows of an NSRL table (`total` 0 when unknown).
    The reader points it at its open file; the importer reads it between records."""

    def __init__(self) -> None:
        self.total = 0
        self._tell: Callable[[], int] | None = None

    def follow(self, tell: Callable[[], int], total: int) -> None:
        self._tell, self.total = tell, total

    @property
    def done(self) -> int:
        try:
            return min(self._tell(), self.total) if self._tell and self.total else 0
        except (OSError, ValueError):  # the reader has closed its file
            return self.total


BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# The hashes of an empty file: a zero-length file matches every set that lists it, so such
# entries are kept but never matched (IPED's HashDBTool ignores them too).
EMPTY_FILE = {"md5": "d41d8cd98f00b204e9800998ecf8427e", "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
              "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """(codec, BOM length) of a text file: UTF-8 with or without BOM, UTF-16 LE/BE with a
    BOM (X-Ways' Clees4All wrote UTF-16 LE before 1.38), or BOM-less UTF-16 told apart by
    its NUL bytes."""
    for bom, codec in BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    if len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le", 0
    if len(head) >= 4 and not head[0] and head[1] and not head[2] and head[3]:
        return "utf-16-be", 0
    return "utf-8", 0


class Utf8Stream:
    """A binary file re-encoded as UTF-8 on the fly, BOM dropped, for the byte-based JSON
    parser: memory stays bounded whatever the size of the file."""

    def __init__(self, path: Path, pos: ReadPosition | None = None) -> None:
        import codecs

        self._raw = open(path, "rb")
        if pos is not None:
            pos.follow(self._raw.tell, os.fstat(self._raw.fileno()).st_size)
        codec, skip = sniff_encoding(self._raw.read(4))
        self.encoding = codec
        self._raw.seek(skip)
        self._decoder = None if codec == "utf-8" else codecs.getincrementaldecoder(codec)("strict")

    def read(self, n: int = -1) -> bytes:
        if n == 0:  # ijson probes with read(0) for bytes or text
            return b""
        data = self._raw.read(n if n > 0 else -1)
        if self._decoder is None:
            return data
        return self._decoder.decode(data, final=not data).encode("utf-8")

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> "Utf8Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _text_lines(path: Path, pos: ReadPosition | None = None) -> Iterator[str]:
    with open(path, "rb") as raw:
        codec, _ = sniff_encoding(raw.read(4))
        raw.seek(0)
        if pos is not None:  # the byte file under the text wrapper tells how far it has read
            pos.follow(raw.tell, os.fstat(raw.fileno()).st_size)
        with io.TextIOWrapper(raw, encoding=codec, errors="replace", newline=None) as f:
            for n, line in enumerate(f):
                yield line.lstrip("\ufeff") if n == 0 else line


def _hash_token(line: str) -> str | None:
    m = _BSD.match(line)
    # First field of md5sum output, a bare list or a CSV row (quoted in NSRL RDS 2.x NSRLFile.txt).
    token = m.group(2) if m else re.split(r"[\s,;]", line, maxsplit=1)[0].lstrip("\\").strip('"')
    return token if len(token) in HEX_LEN and _HEX.match(token) else None


def detect(path: Path) -> str:
    """'nsrl-rds3', 'vics-json' or 'hashlist', from the content of the file. Anything else
    raises FormatError: an unrecognised file is never read as an empty set."""
    with open(path, "rb") as f:
        head = f.read(8192)
    if head.startswith(b"SQLite format 3\x00"):
        return "nsrl-rds3"
    if not head:
        raise FormatError(f"{path} is empty")
    codec, skip = sniff_encoding(head)
    try:
        text = head[skip:].decode(codec, "strict" if len(head) < 8192 else "ignore")
    except UnicodeDecodeError:
        raise FormatError(f"{path} is neither a hash list, a VICS JSON file nor an NSRL RDS v3 database"
                          " (binary content)") from None
    if text.lstrip()[:1] in ("{", "["):
        return "vics-json"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    # A hash list: the first data line (or the one after a header line) starts with a hash.
    if any(_hash_token(ln) for ln in lines[:2]):
        return "hashlist"
    raise FormatError(f"{path} is not a recognised hash-set format: no MD5/SHA-1/SHA-256 at the start of its first lines,"
                      " not VICS JSON (UTF-8/UTF-16) and not an NSRL RDS v3 database")


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


def read_hashlist(path: Path, pos: ReadPosition | None = None) -> Iterator[HashRecord | BadRecord]:
    """One hash per line; the hash is the first field (md5sum style) or after '=' (BSD).
    UTF-8 (BOM or not) or UTF-16 with a BOM. `pos` (if given) follows the bytes read."""
    for n, raw in enumerate(_text_lines(path, pos), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        token = _hash_token(line)
        if token is None:
            if n == 1:  # a header ("MD5", "md5,filename", ...)
                continue
            yield BadRecord(n, f"no MD5/SHA-1/SHA-256 hash at the start of the line: {line[:80]!r}")
            continue
        yield HashRecord(**{HEX_LEN[len(token)]: token.lower()})


def read_nsrl(path: Path, pos: ReadPosition | None = None) -> Iterator[HashRecord | BadRecord]:
    """NSRL RDS v3: the FILE table (sha256, sha1, md5, ...), streamed from the database.
    `pos` (if given) follows the rowid of a table (MAX(rowid) is a b-tree seek, where
    COUNT(*) would walk a table of many millions of rows); a view gives no total."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        types = {r[0].upper(): (r[0], r[1]) for r in conn.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')")}
        tables = {k: v[0] for k, v in types.items()}
        table = tables.get("FILE") or tables.get("DISTINCT_HASH")
        if table is None:
            raise FormatError(f"{path} is an SQLite database without an NSRL RDS v3 FILE table")
        cols = {r[1].lower(): r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
        pick = [cols.get(c) for c in ("md5", "sha1", "sha256")]
        if not any(pick):
            raise FormatError(f"{path}: table {table} has no md5/sha1/sha256 column")
        sel = ", ".join(f'"{c}"' if c else "NULL" for c in pick)
        is_table = types[table.upper()][1] == "table"
        row = [0]
        if pos is not None and is_table:
            pos.follow(lambda: row[0], conn.execute(f'SELECT COALESCE(MAX(rowid), 0) FROM "{table}"').fetchone()[0])
        sel = ("rowid, " if is_table else "NULL, ") + sel
        for n, (rowid, md5, sha1, sha256) in enumerate(conn.execute(f'SELECT {sel} FROM "{table}"'), 1):
            row[0] = rowid or 0
            try:
                yield HashRecord(norm_hex(md5, "md5"), norm_hex(sha1, "sha1"), norm_hex(sha256, "sha256"))
            except ValueError as exc:
                yield BadRecord(n, str(exc))
    finally:
        conn.close()
