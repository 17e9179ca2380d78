"""Evidence references of items inside disk images, read back from the catalogue: enough for
a worker process to open the same bytes through TSK again, and where an item lives for people."""
from __future__ import annotations

import json

from forensics.diskimage.tsk import ImageRef


def _ref_row(store, item_id: int):
    return store.read.execute(
        "SELECT r.*, f.size, f.relpath, s.path AS image, si.format, si.segments FROM items i"
        " JOIN item_image_refs r ON r.item_id = COALESCE(i.parent_id, i.id) JOIN items f ON f.id = r.item_id"
        " JOIN sources s ON s.id = f.source_id JOIN source_images si ON si.source_id = f.source_id"
        " WHERE i.id = ?", (int(item_id),)).fetchone()


def location(store, item_id: int) -> dict | None:
    """Where an image-backed item lives, for people and reports: image, partition and its
    byte offset, path inside the file system, entry (inode / MFT entry), attribute,
    allocation; None for a host file."""
    row = _ref_row(store, item_id)
    if row is None:
        return None
    d = {k: row[k] for k in ("image", "relpath", "partition", "part_offset", "fs_type", "inode", "attr_type",
                             "attr_id", "crtime_utc")}
    d["path_in_image"] = d["relpath"].split("/", 1)[1] if "/" in d["relpath"] else d["relpath"]
    d["allocated"] = bool(row["allocated"])
    return d


def image_ref(store, item_id: int) -> ImageRef | None:
    """The ImageRef of an image-backed item (a frame gets its video's), None for host files."""
    row = _ref_row(store, item_id)
    if row is None:
        return None
    return ImageRef(row["format"], tuple(json.loads(row["segments"])), row["partition"], row["part_offset"],
                    row["fs_type"], row["inode"], row["attr_type"], row["attr_id"], row["size"] or 0,
                    bool(row["allocated"]))
