"""Ingest runs on the record: locks that die with their process, and interrupted runs.

A running ingest holds two kinds of `flock` in the case's `locks/` folder: one per source
(so a second ingest of the same source is refused with a message instead of doing the
work twice) and one for its run row (so any later process can tell a live run from one
that was killed: the kernel drops the lock when the process dies, even on SIGKILL). The
run lock is taken inside the transaction that inserts the run row, so nobody can see a
running row whose lock is not yet held.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from forensics.model import CaseError

if TYPE_CHECKING:
    from forensics.context import CaseContext

LOCKS = "locks"


class FileLock:
    """An exclusive, non-blocking `flock` on one file; released on close or process death."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self, unlink: bool = False) -> None:
        if self._fd is not None:
            if unlink:
                self.path.unlink(missing_ok=True)  # while still held: nobody can be relying on it
            os.close(self._fd)
            self._fd = None


def run_lock(ctx: "CaseContext", run_id: int) -> FileLock:
    return FileLock(ctx.paths.root / LOCKS / f"run-{run_id}.lock")


def lock_sources(ctx: "CaseContext", source_ids: list[int]) -> list[FileLock]:
    """Take every source's lock or none; a busy source raises CaseError naming who holds it."""
    held: list[FileLock] = []
    for sid in source_ids:
        lock = FileLock(ctx.paths.root / LOCKS / f"source-{sid}.lock")
        if not lock.acquire():
            for h in held:
                h.release()
            raise CaseError(_busy_message(ctx, sid))
        held.append(lock)
    return held


def _busy_message(ctx: "CaseContext", sid: int) -> str:
    path = ctx.store.scalar("SELECT path FROM sources WHERE id = ?", (sid,))
    for r in ctx.store.query("SELECT id, examiner, started_utc, pid, host, sources FROM ingest_runs"
                              " WHERE status = 'running' ORDER BY id DESC"):
        if sid in json.loads(r["sources"]):
            return (f"source {path} is being ingested by run {r['id']} ({r['examiner']}, started {r['started_utc']},"
                    f" process {r['pid']} on {r['host']}); wait for it to finish or stop it, then run again")
    return f"source {path} is being ingested by another process; wait for it to finish, then run again"


def close_interrupted(ctx: "CaseContext", w) -> list[dict]:
    """Mark every running run whose process is gone as interrupted and audit what it had
    committed. Call inside a write transaction (it serialises with run start-up)."""
    closed = []
    for r in w.execute("SELECT id, started_utc, examiner, sources, pid, host FROM ingest_runs WHERE status = 'running'"
                       " ORDER BY id").fetchall():
        lock = run_lock(ctx, r[0])
        if not lock.acquire():
            continue  # alive: its process still holds the lock
        try:
            added, failed, frames, last = w.execute(
                "SELECT SUM(parent_id IS NULL), SUM(parent_id IS NULL AND status = 'error'), SUM(parent_id IS NOT NULL),"
                " MAX(ingested_utc) FROM items WHERE ingest_run = ?", (r[0],)).fetchone()
            added, failed, frames = added or 0, failed or 0, frames or 0
            w.execute("UPDATE ingest_runs SET status = 'interrupted', files_done = ?, files_failed = ?, finished_utc = ?"
                      " WHERE id = ?", (added, failed, last, r[0]))
            run = {"run_id": r[0], "sources": json.loads(r[3]), "examiner": r[2], "started_utc": r[1],
                   "pid": r[4], "host": r[5]}
            result = {"status": "interrupted", "added": added, "failed": failed, "frames": frames,
                      "last_commit_utc": last}
            ctx.audit(w, "ingest.interrupted", run, result)
            closed.append({**run, **result})
        finally:
            lock.release(unlink=True)
    return closed


def run_states(ctx: "CaseContext") -> list[dict]:
    """Every ingest run with its status; a `running` row whose process is gone reads as
    `interrupted` (it is recorded as such, in the log, by the next ingest)."""
    out = []
    for r in ctx.store.query("SELECT id, started_utc, finished_utc, examiner, status, files_done, files_failed, error"
                              " FROM ingest_runs ORDER BY id"):
        d = dict(r)
        if d["status"] == "running":
            lock = run_lock(ctx, d["id"])
            if lock.acquire():
                lock.release()
                d["status"], d["note"] = "interrupted", "killed; recorded by the next ingest"
        out.append(d)
    return out
