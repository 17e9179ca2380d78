"""Disk-image sources as the catalogue shows them: the acquisition record, the media hash
check, the volumes found, deleted-file counts and the errors recorded against a source.
Store queries only (no TSK), so the catalogue, reports and the workbench can use them."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable

from forensics.clock import utc_now
from forensics.model import Progress

HASH_STAGE = "hash"


def image_row(store, source_id: int) -> dict | None:
    row = store.read.execute("SELECT * FROM source_images WHERE source_id = ?", (source_id,)).fetchone()
    if row is None:
        return None
    d = dict(row)
    d["segments"] = json.loads(d["segments"])
    d["acquisition"] = json.loads(d["acquisition"]) if d["acquisition"] else None
    d["volumes"] = json.loads(d["volumes"]) if d["volumes"] else None
    return d


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


def add_error(w, source_id: int, stage: str, message: str) -> None:
    w.execute("INSERT INTO source_errors (source_id, stage, message, time_utc) VALUES (?, ?, ?, ?)",
              (source_id, stage, message, utc_now()))


def hash_status(stored_md5: str | None, stored_sha1: str | None, md5: str, sha1: str) -> str:
    """verified: every stored acquisition hash matches; mismatch: one does not."""
    pairs = [(s, c) for s, c in ((stored_md5, md5), (stored_sha1, sha1)) if s]
    if not pairs:
        return "no_stored_hash"
    return "verified" if all(s.lower() == c for s, c in pairs) else "mismatch"


def ensure_media_hash(store, record: Callable, source_id: int, progress: Callable[[Progress], None] | None,
                      cancel: threading.Event | None, force: bool = False) -> dict | None:
    """Re-hash the whole media once (streaming) and record it against the stored acquisition
    hash; `record(conn, action, params, result)` appends the audit entry (the case context's
    `audit`). Skipped when already recorded, unless `force` (verify). Returns the new figures, or
    None when cancelled or skipped."""
    import time

    from forensics.diskimage.images import ImageError, hash_media

    img = image_row(store, source_id)
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
        with store.write() as w:
            add_error(w, source_id, HASH_STAGE, f"the image media cannot be read to its end: {exc}")
            w.execute("UPDATE source_images SET hash_status = 'unreadable', hashed_utc = ? WHERE source_id = ?",
                      (utc_now(), source_id))
        return {"hash_status": "unreadable", "error": str(exc)}
    if d is None:
        return None
    status = hash_status(img["stored_md5"], img["stored_sha1"], d.md5, d.sha1)
    result = {"media_md5": d.md5, "media_sha1": d.sha1, "media_sha256": d.sha256, "hash_status": status,
              "bytes": d.size, "seconds": round(time.monotonic() - t0, 3)}
    if not force:
        with store.write() as w:
            w.execute("UPDATE source_images SET media_md5 = ?, media_sha1 = ?, media_sha256 = ?, hashed_utc = ?,"
                      " hash_status = ? WHERE source_id = ?",
                      (d.md5, d.sha1, d.sha256, utc_now(), status, source_id))
            if status == "mismatch":
                add_error(w, source_id, HASH_STAGE, "the media hash does not match the acquisition hash stored in"
                          f" the image (stored MD5 {img['stored_md5']}, SHA-1 {img['stored_sha1']}; computed MD5 {d.md5},"
                          f" SHA-1 {d.sha1})")
            record(w, "source.image_hash", {"source_id": source_id},
                         {k: v for k, v in result.items()} | {"stored_md5": img["stored_md5"], "stored_sha1": img["stored_sha1"]})
    return result
