"""Evidence verification: re-read every catalogued file and compare it with its recorded hashes.

A report is only worth as much as the link between what it describes and what is on the
seized media. `verify_evidence` re-reads each file item read-only (never following a symlink,
without touching its access time where the OS allows it), recomputes MD5, SHA-1 and SHA-256
in one pass and reports, per file, whether it is unchanged, changed or missing. The outcome
is written to the audit log, where reports pick up the last verification of each source.
"""
from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from forensics.catalogue import display_path
from forensics.clock import utc_now
from forensics.context import CaseContext
from forensics.evidence import noatime_message, open_readonly
from forensics.hashing.digests import CHUNK, MultiHasher
from forensics.media import fspath
from forensics.model import Progress, describe_error
from forensics.store.queries import paged

# How many changed/missing files the audit entry names; the command output names them all.
AUDIT_LIST_LIMIT = 1000
BATCH = 500
VERIFY_ACTION = "evidence.verify"


@dataclass(frozen=True)
class FileCheck:
    """The verification outcome of one file item."""

    item_id: int
    source_id: int
    path: str
    status: str  # ok | changed | missing | unreadable | unverifiable
    detail: str = ""
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    expected_size: int | None = None
    actual_size: int | None = None
    noatime_refused: bool = False  # reading it may have moved its access time (O_NOATIME refused)


def _hash_file(path: bytes, cancel: threading.Event | None) -> tuple[str, str, str, int, bool] | None:
    """(md5, sha1, sha256, size, O_NOATIME refused) of a regular file, or None when cancelled mid-file."""
    fd, refused = open_readonly(path)  # never follows a link: check_file verified it is a regular file
    try:
        hasher = MultiHasher()
        while True:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            hasher.update(chunk)
            if cancel is not None and cancel.is_set():
                return None
        d = hasher.result()
        return d.md5, d.sha1, d.sha256, d.size, refused
    finally:
        os.close(fd)


def check_file(row: dict, path: bytes | None, display: str, cancel: threading.Event | None = None) -> FileCheck | None:
    """Verify one file item against its catalogue row; None when cancelled mid-file."""
    base = {"item_id": row["id"], "source_id": row["source_id"], "path": display,
            "expected_sha256": row["sha256"], "expected_size": row["size"]}
    if path is None:
        return FileCheck(status="missing", detail="no on-disk path recorded", **base)
    try:
        st = fspath.lstat(path)
    except FileNotFoundError:
        return FileCheck(status="missing", detail="file no longer exists", **base)
    except OSError as exc:
        return FileCheck(status="unreadable", detail=f"{describe_error(exc)}", **base)
    if row["link_target"] is not None:
        # Symlinks were recorded, never followed: verify the link itself.
        if not stat.S_ISLNK(st.st_mode):
            return FileCheck(status="changed", detail="was a symbolic link, now is not", **base)
        target = fspath.readlink(path)  # bytes, as recorded: a target need not be UTF-8
        recorded = row.get("link_target_raw")
        same = target == recorded if recorded is not None else \
            target.decode("utf-8", "backslashreplace") == row["link_target"]  # cases from before raw targets
        if not same:
            now = target.decode("utf-8", "backslashreplace")
            return FileCheck(status="changed", detail=f"link now points to {now!r}, recorded {row['link_target']!r}", **base)
        return FileCheck(status="ok", detail="symbolic link unchanged", **base)
    flags = (row.get("flags") or "").split()
    if "unreadable_dir" in flags:
        return FileCheck(status="unverifiable", detail="a folder that could not be listed at ingest", **base)
    if "special_file" in flags and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        return FileCheck(status="ok", detail="special file (FIFO, socket or device), recorded, not opened", **base)
    if not stat.S_ISREG(st.st_mode):
        return FileCheck(status="changed", detail="no longer a regular file", actual_size=st.st_size, **base)
    if not row["sha256"]:
        return FileCheck(status="unverifiable", detail="no hash was recorded at ingest (unreadable then)",
                         actual_size=st.st_size, **base)
    try:
        hashed = _hash_file(path, cancel)
    except OSError as exc:
        return FileCheck(status="unreadable", detail=f"{describe_error(exc)}", actual_size=st.st_size, **base)
    if hashed is None:
        return None
    md5, sha1, sha256, size, refused = hashed
    base["noatime_refused"] = refused
    mismatched = [name for name, now, then in (("MD5", md5, row["md5"]), ("SHA-1", sha1, row["sha1"]),
                                               ("SHA-256", sha256, row["sha256"])) if then and now != then]
    if size != row["size"] and row["size"] is not None:
        mismatched.append("size")
    if mismatched:
        return FileCheck(status="changed", detail="differs in " + ", ".join(mismatched),
                         actual_sha256=sha256, actual_size=size, **base)
    return FileCheck(status="ok", actual_sha256=sha256, actual_size=size, **base)


def _file_rows(ctx: CaseContext) -> Iterator[dict]:
    """File items in id order, fetched in batches so the read transaction stays short."""
    for r in paged(ctx.store.read, "SELECT id, source_id, relpath, size, md5, sha1, sha256, link_target, link_target_raw, flags FROM items"
                   " WHERE parent_id IS NULL AND id > ? ORDER BY id LIMIT ?", page=BATCH):
        yield dict(r)


def verify_evidence(ctx: CaseContext, progress: Callable[[Progress], None] | None = None,
                    cancel: threading.Event | None = None) -> dict:
    """Re-hash every file item of the case and report changed, missing and intact files.

    Returns a dict with the overall `status` ('intact', 'altered' or 'incomplete'), counts,
    per-source counts and one entry per file in `files`. The summary is appended to the
    audit log as 'evidence.verify' even when the run was cancelled (marked as such)."""
    total = ctx.store.scalar("SELECT COUNT(*) FROM items WHERE parent_id IS NULL") or 0
    started, t0 = utc_now(), time.monotonic()
    counts = {"ok": 0, "changed": 0, "missing": 0, "unreadable": 0, "unverifiable": 0}
    per_source: dict[int, dict[str, int]] = {}
    files: list[dict] = []
    done = bytes_read = 0
    cancelled = False
    for row in _file_rows(ctx):
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        raw = ctx.catalogue.item_file(row["id"])
        path = os.fsencode(raw) if raw is not None else None
        display = display_path(path) if path is not None else row["relpath"]
        check = check_file(row, path, display, cancel)
        if check is None:
            cancelled = True
            break
        counts[check.status] += 1
        src = per_source.setdefault(check.source_id, {k: 0 for k in counts})
        src[check.status] += 1
        bytes_read += (check.actual_size or 0) if check.status in ("ok", "changed") else 0
        files.append(asdict(check))
        done += 1
        if progress is not None:
            elapsed = time.monotonic() - t0
            rate = done / elapsed if elapsed > 0 else 0.0
            progress(Progress(done, total, done - counts["ok"], rate,
                              (total - done) / rate if rate else None, check.path))
    # A file that could not be checked is a failure of the check, never "intact".
    status = "incomplete" if cancelled or counts["unreadable"] or counts["unverifiable"] else (
        "altered" if counts["changed"] or counts["missing"] else "intact")
    result = {
        "status": status,
        "cancelled": cancelled,
        "files": total,
        "checked": done,
        **counts,
        "bytes_read": bytes_read,
        "seconds": round(time.monotonic() - t0, 3),
        "started_utc": started,
        "sources": {str(k): v for k, v in sorted(per_source.items())},
    }
    note = noatime_message(sum(1 for f in files if f["noatime_refused"]))
    if note:
        result["note"] = note  # said once for the run, in its record
    problems = [f for f in files if f["status"] in ("changed", "missing", "unreadable", "unverifiable")]
    _, audit_error = ctx.log_or_warn(VERIFY_ACTION, {"scope": "all file items", "algorithms": ["MD5", "SHA-1", "SHA-256"]},
             {**result, "problems": [{k: p[k] for k in ("item_id", "path", "status", "detail")}
                                     for p in problems[:AUDIT_LIST_LIMIT]],
              "problems_truncated": len(problems) > AUDIT_LIST_LIMIT})
    return {**result, "problems": problems, "files_checked": files, "audit_error": audit_error}


def last_verification(ctx: CaseContext) -> dict | None:
    """The result of the most recent 'evidence.verify' audit entry, with its time and seq."""
    row = ctx.store.read.execute(
        "SELECT seq, time_utc, examiner, result FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1",
        (VERIFY_ACTION,)).fetchone()
    if row is None:
        return None
    import json

    return {"seq": row[0], "time_utc": row[1], "examiner": row[2], **json.loads(row[3])}
