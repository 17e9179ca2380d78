"""Disk images as ingest sources: register one (with its acquisition record), re-hash its
media once, and turn its volumes and file systems into per-file tasks.

The image is opened read-only and nothing is written beside it. Problems that concern the
image rather than one file (truncated image, unknown file system, a directory that cannot be
listed) are recorded in `source_errors`, and the rest of the image is still ingested.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator

from forensics import audit
from forensics.ingest.records import FileTask
from forensics.model import Progress

HASH_STAGE = "hash"


def register_image(w, source_id: int, path: str, fmt: str, examiner: str) -> dict:
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


def add_error(w, source_id: int, stage: str, message: str) -> None:
    w.execute("INSERT INTO source_errors (source_id, stage, message, time_utc) VALUES (?, ?, ?, ?)",
              (source_id, stage, message, audit.utc_now()))


def image_row(store, source_id: int) -> dict | None:
    row = store.read.execute("SELECT * FROM source_images WHERE source_id = ?", (source_id,)).fetchone()
    if row is None:
        return None
    d = dict(row)
    d["segments"] = json.loads(d["segments"])
    d["acquisition"] = json.loads(d["acquisition"]) if d["acquisition"] else None
    d["volumes"] = json.loads(d["volumes"]) if d["volumes"] else None
    return d


def hash_status(stored_md5: str | None, stored_sha1: str | None, md5: str, sha1: str) -> str:
    """verified: every stored acquisition hash matches; mismatch: one does not."""
    pairs = [(s, c) for s, c in ((stored_md5, md5), (stored_sha1, sha1)) if s]
    if not pairs:
        return "no_stored_hash"
    return "verified" if all(s.lower() == c for s, c in pairs) else "mismatch"


def ensure_media_hash(case, source_id: int, progress: Callable[[Progress], None] | None,
                      cancel: threading.Event | None, force: bool = False) -> dict | None:
    """Re-hash the whole media once (streaming) and record it against the stored acquisition
    hash. Skipped when already recorded, unless `force` (verify). Returns the new figures, or
    None when cancelled or skipped."""
    import time

    from forensics.diskimage.images import ImageError, hash_media

    img = image_row(case.store, source_id)
    if img is None or img["media_size"] is None or (img["media_md5"] and not force):
        return None  # not an image, not openable (the error is on the source), or already hashed
    t0 = time.monotonic()
    label = f"hashing {os.path.basename(img['segments'][0])}"

    def tick(done: int, total: int) -> None:
        if progress is not None:
            el = max(time.monotonic() - t0, 1e-6)
            rate = done / el
            progress(Progress(done >> 20, max(total >> 20, 1), 0, rate / (1 << 20), (total - done) / rate if rate else None,
                              label + " (MiB)"))

    try:
        d = hash_media(img["format"], tuple(img["segments"]), tick, (lambda: cancel.is_set()) if cancel else None)
    except (ImageError, OSError) as exc:
        with case.store.write() as w:
            add_error(w, source_id, HASH_STAGE, f"the image media cannot be read to its end: {exc}")
            w.execute("UPDATE source_images SET hash_status = 'unreadable', hashed_utc = ? WHERE source_id = ?",
                      (audit.utc_now(), source_id))
        return {"hash_status": "unreadable", "error": str(exc)}
    if d is None:
        return None
    status = hash_status(img["stored_md5"], img["stored_sha1"], d.md5, d.sha1)
    result = {"media_md5": d.md5, "media_sha1": d.sha1, "media_sha256": d.sha256, "hash_status": status,
              "bytes": d.size, "seconds": round(time.monotonic() - t0, 3)}
    if not force:
        with case.store.write() as w:
            w.execute("UPDATE source_images SET media_md5 = ?, media_sha1 = ?, media_sha256 = ?, hashed_utc = ?,"
                      " hash_status = ? WHERE source_id = ?",
                      (d.md5, d.sha1, d.sha256, audit.utc_now(), status, source_id))
            if status == "mismatch":
                add_error(w, source_id, HASH_STAGE, "the media hash does not match the acquisition hash stored in"
                          f" the image (stored MD5 {img['stored_md5']}, SHA-1 {img['stored_sha1']}; computed MD5 {d.md5},"
                          f" SHA-1 {d.sha1})")
            audit.append(w, case.examiner, "source.image_hash", {"source_id": source_id},
                         {k: v for k, v in result.items()} | {"stored_md5": img["stored_md5"], "stored_sha1": img["stored_sha1"]})
    return result


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


def source_details(store, src: dict) -> dict:
    """A source row with, for a disk image, its acquisition record, the media hash check, the
    volumes found, deleted-file counts and the errors recorded against it."""
    src["errors"] = [dict(r) for r in store.query(
        "SELECT stage, message, time_utc FROM source_errors WHERE source_id = ? ORDER BY id", (src["id"],))]
    if src.get("kind") != "image":
        return src
    img = image_row(store, src["id"]) or {}
    img.pop("source_id", None)
    src["image"] = img
    src["deleted_files"] = store.scalar(
        "SELECT COUNT(*) FROM items i JOIN item_image_refs r ON r.item_id = i.id WHERE i.source_id = ? AND r.allocated = 0",
        (src["id"],))
    src["hash_mismatch"] = img.get("hash_status") == "mismatch"
    return src


def image_summary(src: dict) -> list[str]:
    """Lines describing an image source for `info` and reports."""
    img = src.get("image") or {}
    out = [f"format {img.get('format')}, {len(img.get('segments') or [])} segment(s), media {img.get('media_size') or 0:,} bytes"]
    st = img.get("hash_status")
    if st == "verified":
        out.append(f"acquisition hash VERIFIED: MD5 {img['media_md5']}" + (f", SHA-1 {img['media_sha1']}" if img.get("stored_sha1") else ""))
    elif st == "mismatch":
        out.append(f"ACQUISITION HASH MISMATCH: stored MD5 {img.get('stored_md5')} SHA-1 {img.get('stored_sha1')},"
                   f" computed MD5 {img.get('media_md5')} SHA-1 {img.get('media_sha1')}")
    elif st == "no_stored_hash":
        out.append(f"no acquisition hash stored in the image; media MD5 {img['media_md5']}, SHA-256 {img['media_sha256']}")
    elif st == "unreadable":
        out.append("media could not be read to its end (see errors)")
    else:
        out.append("media not hashed yet")
    for v in img.get("volumes") or []:
        if "offset" in v:
            out.append(f"{v['label']} at byte {v['offset']:,}" if v.get("fs_type")
                       else f"volume at byte {v['offset']:,}: not read ({v.get('error')})")
    if src.get("deleted_files"):
        out.append(f"{src['deleted_files']} deleted files recovered")
    return out


def source_alerts(store) -> list[str]:
    """One line per problem with the evidence itself, for the workbench: an image whose
    re-computed media hash does not match its stored acquisition hash, and every error
    recorded against a source (unreadable image, unknown file system, damaged directory)."""
    out = []
    for r in store.query("SELECT s.id, s.path, si.stored_md5, si.stored_sha1, si.media_md5, si.media_sha1"
                         " FROM sources s JOIN source_images si ON si.source_id = s.id"
                         " WHERE si.hash_status = 'mismatch' ORDER BY s.id"):
        out.append(f"source {r[0]} {r[1]}: ACQUISITION HASH MISMATCH (stored MD5 {r[2]}, computed {r[4]})")
    for r in store.query("SELECT s.id, s.path, e.stage, e.message FROM source_errors e JOIN sources s ON s.id = e.source_id"
                         " WHERE e.stage != 'hash' ORDER BY e.id"):
        out.append(f"source {r[0]} {r[1]}: {r[2]}: {r[3]}")
    return out
