"""The read-only evidence opener: an item id in, its bytes out, whether the item is a file in
a folder or a file inside a disk image. Every later read of evidence (faces, copies, verify,
the item view) goes through here, so image-backed items work everywhere a path did.

A *locator* is what a worker process needs to open an item: its exact host path (bytes), or
the `ImageRef` saying where TSK finds it inside an image. Both are picklable.
"""
from __future__ import annotations

import io
import json
import os
from typing import BinaryIO, Union

from forensics.diskimage.tsk import ImageRef

Locator = Union[bytes, ImageRef]

# O_NOATIME keeps the evidence's access time as it was (allowed for the owner or root).
_NOATIME = getattr(os, "O_NOATIME", 0)


def open_host(path: bytes | str) -> int:
    """Open a host evidence file read-only (never for writing, never through a symlink),
    preserving its atime where permitted; returns the descriptor."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags | _NOATIME)
    except PermissionError:
        return os.open(path, flags)


def open_locator(loc: Locator) -> BinaryIO:
    """A read-only binary stream over the located evidence."""
    if isinstance(loc, ImageRef):
        from forensics.diskimage.tsk import TskFile

        return io.BufferedReader(TskFile(loc), buffer_size=1 << 20)
    return os.fdopen(open_host(loc), "rb")


def video_input(loc: Locator):
    """What PyAV should open: the host path (its own buffered I/O), or a stream from the image."""
    return open_locator(loc) if isinstance(loc, ImageRef) else loc


class EvidenceOpener:
    """Locates and opens items of one case read-only."""

    def __init__(self, store) -> None:
        self.store = store

    def _ref_row(self, item_id: int):
        return self.store.read.execute(
            "SELECT r.*, f.size, f.relpath, s.path AS image, si.format, si.segments FROM items i"
            " JOIN item_image_refs r ON r.item_id = COALESCE(i.parent_id, i.id) JOIN items f ON f.id = r.item_id"
            " JOIN sources s ON s.id = f.source_id JOIN source_images si ON si.source_id = f.source_id"
            " WHERE i.id = ?", (item_id,)).fetchone()

    def location(self, item_id: int) -> dict | None:
        """Where an image-backed item lives, for people and reports: image, partition and
        its byte offset, path inside the file system, entry (inode / MFT entry), attribute,
        allocation; None for a host file."""
        row = self._ref_row(item_id)
        if row is None:
            return None
        d = {k: row[k] for k in ("image", "relpath", "partition", "part_offset", "fs_type", "inode", "attr_type",
                                 "attr_id", "crtime_utc")}
        d["path_in_image"] = d["relpath"].split("/", 1)[1] if "/" in d["relpath"] else d["relpath"]
        d["allocated"] = bool(row["allocated"])
        return d

    def image_ref(self, item_id: int) -> ImageRef | None:
        """The ImageRef of an image-backed item (a frame gets its video's), None for host files."""
        row = self._ref_row(item_id)
        if row is None:
            return None
        return ImageRef(row["format"], tuple(json.loads(row["segments"])), row["partition"], row["part_offset"],
                        row["fs_type"], row["inode"], row["attr_type"], row["attr_id"], row["size"] or 0,
                        bool(row["allocated"]))

    def host_path(self, item_id: int) -> bytes | None:
        """Exact on-disk path of a file item in a folder source (or of a frame's video)."""
        row = self.store.read.execute(
            "SELECT s.path_raw, COALESCE(i.relpath_raw, p.relpath_raw), s.kind FROM items i"
            " LEFT JOIN items p ON p.id = i.parent_id JOIN sources s ON s.id = i.source_id WHERE i.id = ?",
            (item_id,)).fetchone()
        if row is None or row[1] is None or row[2] == "image":
            return None
        return os.path.join(row[0], row[1]) if row[1] else row[0]

    def locate(self, item_id: int) -> Locator | None:
        return self.image_ref(item_id) or self.host_path(item_id)

    def open_item(self, item_id: int) -> BinaryIO:
        """The item's bytes, read-only. FileNotFoundError when it has nothing to read."""
        loc = self.locate(item_id)
        if loc is None:
            raise FileNotFoundError(f"item {item_id} has no readable evidence")
        return open_locator(loc)
