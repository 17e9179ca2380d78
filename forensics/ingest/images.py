"""Disk images as ingest sources: register one (with its acquisition record), re-hash its
media once, and turn its volumes and file systems into per-file tasks.

The image is opened read-only and nothing is written beside it. Problems that concern the
image rather than one file (truncated image, unknown file system, a directory that cannot be
listed) are recorded in `source_errors`, and the rest of the image is still ingested.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator

from forensics.ingest.records import FileTask
from forensics.diskimage.sources import add_error, image_row



def register_image(w, source_id: int, path: str, fmt: str) -> dict:
    """Record an image source's format, segments and stored acquisition hashes (inside the
    caller's write transaction). An image that cannot be opened is still registered, with
    the error on the source, so the examiner sees it in `info`."""
    from forensics.diskimage.images import ImageError, describe, segments

    w.execute("UPDATE sources SET kind = 'image' WHERE id = ?", (source_id,))
    try:
        info = describe(path)
        row = dict(format=info.format, segments=list(info.segments), media_size=info.media_size,
                   stored_md5=info.stored_md5, stored_sha1=info.stored_sha1, acquisition=info.acquisition)
    except ImageError as exc:
        try:
            segs = list(segments(path, fmt))
        except ImageError:
            segs = [path]
        row = dict(format=fmt, segments=segs, media_size=None, stored_md5=None, stored_sha1=None, acquisition=None)
        add_error(w, source_id, "image", str(exc))
    w.execute("INSERT OR REPLACE INTO source_images (source_id, format, segments, media_size, stored_md5, stored_sha1,"
              " acquisition) VALUES (?, ?, ?, ?, ?, ?, ?)",
              (source_id, row["format"], json.dumps(row["segments"]), row["media_size"], row["stored_md5"],
               row["stored_sha1"], json.dumps(row["acquisition"]) if row["acquisition"] else None))
    return row


def image_tasks(case, source_id: int, root: bytes) -> Iterator[FileTask]:
    """Every file TSK reaches in the image, as FileTasks carrying their ImageRef. When the
    walk ends, the volumes found and the source-level errors are recorded (replacing those of
    an earlier walk, so a re-run does not pile them up)."""
    from forensics.diskimage.walk import ImageWalk

    img = image_row(case.store, source_id)
    if img is None or img["media_size"] is None:
        return  # could not be opened at registration: the error is on the source
    walk = ImageWalk(img["format"], tuple(img["segments"]))
    try:
        for e in walk.entries():
            yield FileTask(source_id, root, e.relpath, e.kind, e.ref)
    except Exception as exc:  # what was found so far is still ingested; the rest is named as missing
        walk.errors.append(("image", f"the walk through the image stopped: {type(exc).__name__}: {exc}"))
    with case.store.write() as w:
        w.execute("DELETE FROM source_errors WHERE source_id = ? AND stage IN ('image', 'volume', 'filesystem')",
                  (source_id,))
        for stage, msg in walk.errors:
            add_error(w, source_id, stage, msg)
        vols = walk.volumes + ([{"unreachable_deleted_names": walk.unreachable_deleted}] if walk.unreachable_deleted else [])
        w.execute("UPDATE source_images SET volumes = ? WHERE source_id = ?", (json.dumps(vols), source_id))


def write_ref(w, item_id: int, task: FileTask) -> None:
    """The evidence reference of an image-backed item, in the same transaction as the item."""
    r = task.ref
    w.execute("INSERT OR REPLACE INTO item_image_refs (item_id, partition, part_offset, fs_type, inode, attr_type,"
              " attr_id, allocated, crtime_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              (item_id, r.partition, r.part_offset, r.fs_type, r.inode, r.attr_type, r.attr_id, int(r.allocated), r.crtime))
