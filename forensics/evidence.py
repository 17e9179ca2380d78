"""The one way the core reads evidence: read-only, without following links the catalogue
did not record, without touching access times where the OS allows it, and (when asked)
only after the bytes are proven to be the ones catalogued.

`open_readonly` is the primitive (a path in, a file descriptor out) used where there is no
catalogue yet (the ingest worker) or where the caller checks the file itself (evidence
verification). `Evidence.open_item` is the entry point for everything that derives data
from an item's bytes (faces, fine hashes, search by image, video frames): it looks the
item up, opens it with the right flags and, with `verify=True`, checks the catalogued
SHA-256 before handing the bytes over. Items that live inside disk images can be added
behind the same call by extending `EvidenceRef`.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
from dataclasses import dataclass
from typing import BinaryIO

from forensics.catalogue import Catalogue
from forensics.media import fspath
from forensics.model import CaseError

_NOATIME = getattr(os, "O_NOATIME", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# O_NONBLOCK: a FIFO swapped in after the caller's lstat must not hang the open.
_BASE = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
READ_CHUNK = 1 << 20
# Verified files up to this size are handed over from memory: the bytes checked are then
# exactly the bytes used. Larger ones (long videos) are re-read from the start after the check.
VERIFIED_IN_MEMORY = 256 << 20


class EvidenceError(CaseError):
    """An item's bytes cannot be read (no file recorded, gone, not a regular file, refused)."""


class EvidenceChanged(EvidenceError):
    """An item's file no longer has the SHA-256 (or size) recorded when it was catalogued."""

    def __init__(self, item_id: int, path: str, expected: str | None, actual: str | None, detail: str = "") -> None:
        self.item_id, self.path, self.expected, self.actual = item_id, path, expected, actual
        super().__init__(f"evidence changed since it was catalogued: item {item_id} ({path}): "
                         + (detail or f"SHA-256 is {actual}, catalogued {expected}")
                         + "; nothing was derived from it (run 'forensics verify')")


def open_readonly(path: bytes | str, *, follow_links: bool = False) -> tuple[int, bool]:
    """Open a file read-only; returns (fd, whether O_NOATIME was refused for it).

    O_NOATIME is refused (EPERM) on files the examiner does not own, so it is tried first
    and dropped for that file only. Symbolic links are not followed unless asked."""
    flags = _BASE | (0 if follow_links else _NOFOLLOW)
    raw = os.fsencode(path)  # paths beyond PATH_MAX are opened through folder descriptors
    if _NOATIME:
        try:
            return fspath.open_fd(raw, flags | _NOATIME), False
        except PermissionError:
            return fspath.open_fd(raw, flags), True
    return fspath.open_fd(raw, flags), False


def noatime_message(files: int) -> str | None:
    """What a run says, once, when reading moved evidence access times (None if it did not)."""
    if not files:
        return None
    return (f"access times of {files} evidence file(s) could not be preserved: the system refused O_NOATIME"
            " (the examiner's account does not own them and lacks CAP_FOWNER), so reading them updated their"
            " access times; contents, hashes and other times are unaffected")


@dataclass(frozen=True)
class EvidenceRef:
    """Where an item's bytes are: a file on disk today (a frame refers to its video)."""

    item_id: int  # the item asked for
    file_item_id: int  # the item whose bytes these are (the video of a frame)
    path: bytes | None  # exact on-disk path; None when none was recorded
    display: str
    sha256: str | None
    size: int | None
    was_link: bool  # the catalogue recorded a symbolic link there (never followed at ingest)


def open_file(path: bytes | str, *, follow_links: bool = False) -> tuple[BinaryIO, bool]:
    """(file object, O_NOATIME refused) over a regular file opened with `open_readonly`."""
    fd, refused = open_readonly(path, follow_links=follow_links)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise EvidenceError(f"{os.fsdecode(path)} is not a regular file; not opened")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=READ_CHUNK), refused
    except BaseException:
        os.close(fd)
        raise


def open_ref(ref: EvidenceRef, verify: bool = False) -> tuple[BinaryIO, bool]:
    """(file object, O_NOATIME refused) over the bytes `ref` names; with `verify`, only
    after they are proven to be the catalogued ones (else `EvidenceChanged`). Needs no
    database, so worker processes use it with a ref the caller looked up."""
    if ref.path is None:
        raise EvidenceError(f"item {ref.item_id} has no file recorded")
    if verify and not ref.sha256:
        raise EvidenceError(f"item {ref.item_id} ({ref.display}) has no SHA-256 recorded (unreadable at ingest); "
                            "it cannot be verified")
    try:
        f, refused = open_file(ref.path, follow_links=ref.was_link)
    except OSError as exc:
        raise EvidenceError(f"cannot open item {ref.item_id} ({ref.display}): {exc.strerror or exc}") from exc
    if not verify:
        return f, refused
    try:
        return _verified(f, ref), refused
    except BaseException:
        f.close()
        raise


def _verified(f: BinaryIO, ref: "EvidenceRef") -> BinaryIO:
    size = os.fstat(f.fileno()).st_size
    if ref.size is not None and size != ref.size:
        raise EvidenceChanged(ref.item_id, ref.display, ref.sha256, None,
                              f"size is {size:,} bytes, catalogued {ref.size:,}")
    h = hashlib.sha256()
    keep = size <= VERIFIED_IN_MEMORY
    parts: list[bytes] = []
    while chunk := f.read(READ_CHUNK):
        h.update(chunk)
        if keep:
            parts.append(chunk)
    actual = h.hexdigest()
    if actual != ref.sha256:
        raise EvidenceChanged(ref.item_id, ref.display, ref.sha256, actual)
    if keep:
        f.close()
        return io.BytesIO(b"".join(parts))
    f.seek(0)
    return f


class Evidence:
    """Opens the evidence of one case. Thread-safe; counts files whose access time could
    not be preserved, so a run can say so once (`noatime_note`)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._lock = threading.Lock()
        self.noatime_refused = 0

    def ref(self, item_id: int) -> EvidenceRef:
        """Look up where an item's bytes are (raises EvidenceError for an unknown item)."""
        r = self._catalogue.store.read.execute(
            "SELECT i.id, COALESCE(p.id, i.id) AS file_id, COALESCE(p.sha256, i.sha256) AS sha256,"
            " COALESCE(p.size, i.size) AS size, COALESCE(p.link_target, i.link_target) AS link_target"
            " FROM items i LEFT JOIN items p ON p.id = i.parent_id WHERE i.id = ?", (int(item_id),)).fetchone()
        if r is None:
            raise EvidenceError(f"no item {item_id} in this case")
        return EvidenceRef(int(item_id), int(r["file_id"]), self._catalogue.item_file(int(item_id)),
                           self._catalogue.display_path_of(int(item_id)) or "?", r["sha256"], r["size"],
                           r["link_target"] is not None)

    def open_path(self, path: bytes | str, *, follow_links: bool = False) -> BinaryIO:
        """A file object over `path`, opened with `open_readonly` (regular files only)."""
        f, refused = open_file(path, follow_links=follow_links)
        self.count_refused(refused)
        return f

    def open_item(self, item_id: int, verify: bool = False) -> BinaryIO:
        """A binary file object over an item's bytes (a frame: its video's), positioned at 0.

        With `verify=True` the file's SHA-256 (and size) must equal the catalogued ones
        before any byte is returned; otherwise `EvidenceChanged` is raised. Close it after use."""
        f, refused = open_ref(self.ref(item_id), verify)
        self.count_refused(refused)
        return f

    def read_item(self, item_id: int, verify: bool = True) -> bytes:
        """All of an item's bytes (verified against the catalogue by default)."""
        with self.open_item(item_id, verify=verify) as f:
            return f.read()

    def count_refused(self, files: int | bool) -> None:
        """Count files whose access time could not be preserved (here or in a worker)."""
        if files:
            with self._lock:
                self.noatime_refused += int(files)

    def noatime_note(self) -> str | None:
        """A sentence for a run's result when access times could not be preserved, else None."""
        return noatime_message(self.noatime_refused)
