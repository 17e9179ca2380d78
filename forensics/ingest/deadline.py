"""Per-file deadlines that grow with a worker's progress through a video.

The pool gives up on a file that takes longer than `IngestOptions.file_timeout`: a hung
decoder must cost one file, not the run. A fixed limit cannot tell a hung decoder from a
long video being analysed for faces (an hour of footage takes far longer than a photo).
So the worker reports its progress, in media seconds decoded, as it goes (a heartbeat),
and the parent allows `file_timeout` plus `timeout_per_media_second` for every media
second reported so far. A worker that hangs before any progress (a tiny file, a broken
header) still times out after `file_timeout`; a long video that keeps moving never does;
one that stalls halfway is stopped `file_timeout` after its progress stopped paying for
the time taken.

Heartbeats are small files in a folder private to one pool (the worker's initializer
names it), one per file in flight, keyed by the task: no shared memory or manager
process, and a worker killed mid-write leaves at worst a stale number that only ever
errs on the side of the earlier deadline (the parent reads it only when the plain limit
is passed).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HEARTBEAT_EVERY_S = 2.0  # a worker writes its progress at most this often

_folder: str | None = None  # set in each worker process by `init_worker`
_current: dict[str, Any] = {"key": None, "written": 0.0}


def task_key(task: Any) -> str:
    """A file name for a task's heartbeat (its source and path)."""
    raw = f"{getattr(task, 'source_id', '')}:".encode() + bytes(getattr(task, "path", b"") or b"")
    return hashlib.sha1(raw).hexdigest()


def new_folder() -> str:
    """A fresh heartbeat folder for one pool (removed with `remove_folder`)."""
    return tempfile.mkdtemp(prefix="forensics-heartbeat-")


def remove_folder(folder: str) -> None:
    for p in Path(folder).glob("*"):
        p.unlink(missing_ok=True)
    try:
        os.rmdir(folder)
    except OSError:
        pass


def init_worker(folder: str | None) -> None:
    """Pool initializer: where this worker process writes its heartbeats."""
    global _folder
    _folder = folder


def run_task(worker: Callable, task: Any, options: Any) -> Any:
    """Run `worker(task, options)` in a pool process with heartbeats keyed by the task."""
    _current.update(key=task_key(task), written=0.0)
    try:
        return worker(task, options)
    finally:
        if _folder is not None and _current["key"]:
            Path(_folder, _current["key"]).unlink(missing_ok=True)
        _current["key"] = None


def progress(media_seconds: float) -> None:
    """Report that the current file has been processed up to `media_seconds` of its
    media (called from the video frame loop; cheap: writes at most every 2 s)."""
    key = _current["key"]
    if _folder is None or key is None:
        return
    now = time.monotonic()
    if now - _current["written"] < HEARTBEAT_EVERY_S:
        return
    _current["written"] = now
    tmp = Path(_folder, key + ".tmp")
    try:
        tmp.write_text(f"{float(media_seconds):.3f}")
        os.replace(tmp, Path(_folder, key))  # the parent never reads a half-written number
    except OSError:
        pass  # a heartbeat is a courtesy: without it the plain limit applies


def reported(folder: str | None, task: Any) -> float:
    """Media seconds the worker has reported for `task` (0 when none)."""
    if folder is None:
        return 0.0
    try:
        return max(0.0, float(Path(folder, task_key(task)).read_text()))
    except (OSError, ValueError):
        return 0.0


def allowed(options: Any, folder: str | None, task: Any) -> float:
    """Seconds `task` may run: the plain limit plus what its reported progress earned."""
    per = float(getattr(options, "timeout_per_media_second", 0.0) or 0.0)
    base = float(options.file_timeout)
    return base + per * reported(folder, task) if per > 0 else base
