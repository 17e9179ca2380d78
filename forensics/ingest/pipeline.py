"""Ingest: discover files, run the per-file worker in a process pool, write results.

Resumable by construction: each file's item, frames, faces and errors are committed in
the same transaction, and files already in the case are skipped. A run killed at any
moment (even SIGKILL) keeps every committed file; running it again finishes the job
without duplicates (unique indexes on (source, path) and (video, frame) guarantee it).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from forensics import audit
from forensics.clock import utc_now
from forensics.context import CaseContext
from forensics.ingest.discover import walk_source
from forensics.ingest.records import FileResult, FileTask, IngestOptions
from forensics.ingest.runs import close_interrupted, lock_sources, run_lock
from forensics.ingest.worker import process_file
from forensics.model import Cancelled, ItemId, Progress

if TYPE_CHECKING:
    from forensics.cluster import ClusterSpec

__all__ = ["IngestOptions", "IngestSummary", "run_ingest"]

COMMIT_EVERY_S = 0.5
COMMIT_EVERY_N = 64


@dataclass
class IngestSummary:
    run_id: int
    found: int = 0
    skipped: int = 0  # already in the case when the run began
    added: int = 0
    duplicates: int = 0  # committed meanwhile by another run: never written twice
    failed: int = 0  # added with status error
    frames: int = 0
    faces: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)
    analysis: dict | None = None  # set by Case.ingest_and_analyse: hash sets, copy groups, clusters

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        if d["analysis"] is None:
            del d["analysis"]
        return d


def _pool(workers: int) -> cf.ProcessPoolExecutor:
    # spawn, not fork: ingest may run from a GUI thread, and forking a threaded process can deadlock.
    ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=500)


def run_ingest(ctx: CaseContext, source_ids: list[int], options: IngestOptions,
               progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
               on_committed: Callable[[list[ItemId]], None] | None = None,
               worker: Callable[[FileTask, IngestOptions], FileResult] = process_file,
               cluster: "ClusterSpec | None" = None) -> IngestSummary:
    """Ingest the given sources of the case. `worker` is the per-file function (a picklable
    module-level callable). It runs in a local process pool, or on a Dask cluster when
    `cluster` is given (`forensics.cluster`); the records are the same either way."""
    store = ctx.store
    if options.faces:
        ctx.require_authority("face processing")
    source_locks = lock_sources(ctx, source_ids)
    run_lock_ = None
    try:
        with store.write() as w:
            resumed = close_interrupted(ctx, w)
            run_id = w.execute(
                "INSERT INTO ingest_runs (started_utc, examiner, sources, options, pid, host) VALUES (?, ?, ?, ?, ?, ?)",
                (utc_now(), ctx.examiner, audit.canonical(source_ids),
                 audit.canonical(options.as_dict() | ({"cluster": cluster.as_dict()} if cluster else {})),
                 os.getpid(), socket.gethostname()),
            ).lastrowid
            run_lock_ = run_lock(ctx, run_id)
            run_lock_.acquire()  # before commit: nobody sees this run running without its lock held
            sources = [{"id": sid, "path": w.execute("SELECT path FROM sources WHERE id = ?", (sid,)).fetchone()[0]}
                       for sid in source_ids]
            ctx.audit(w, "ingest.start", {"run_id": run_id, "sources": sources, "options": options.as_dict(),
                                          **({"cluster": cluster.as_dict()} if cluster else {}),
                                          "resumes": [r["run_id"] for r in resumed if set(r["sources"]) & set(source_ids)]},
                      {})
        return _run(ctx, run_id, source_ids, options, progress, cancel, on_committed, worker, cluster)
    finally:
        if run_lock_ is not None:
            run_lock_.release(unlink=True)
        for lock in source_locks:
            lock.release()


def _run(ctx: CaseContext, run_id: int, source_ids: list[int], options: IngestOptions,
         progress: Callable[[Progress], None] | None, cancel: threading.Event | None,
         on_committed: Callable[[list[ItemId]], None] | None,
         worker: Callable[[FileTask, IngestOptions], FileResult],
         cluster: "ClusterSpec | None" = None) -> IngestSummary:
    store = ctx.store
    summary = IngestSummary(run_id)
    t_start = time.monotonic()
    writer = _Writer(ctx, summary, on_committed)
    status, error = "finished", None
    cluster_status = {"text": ""}  # the cluster's workers and dashboard, when one is used
    try:
        tasks: list[FileTask] = []
        for sid in source_ids:
            root = store.scalar("SELECT path_raw FROM sources WHERE id = ?", (sid,))
            done = {r[0] for r in store.query("SELECT relpath_raw FROM items WHERE source_id = ? AND parent_id IS NULL", (sid,))}
            for task in walk_source(sid, root):
                summary.found += 1
                if task.relpath in done:
                    summary.skipped += 1
                else:
                    tasks.append(task)
        total = len(tasks)
        state = {"done": 0, "last": 0.0}

        def report(force: bool = False) -> None:
            now = time.monotonic()
            if progress is None or (not force and now - state["last"] < 0.2):
                return
            state["last"] = now
            elapsed = max(now - t_start, 1e-6)
            rate = state["done"] / elapsed
            eta = (total - state["done"]) / rate if rate > 0 else None
            progress(Progress(state["done"], total, summary.failed, rate, eta, cluster_status["text"]))

        def handle(res: FileResult) -> None:
            writer.add(res)
            state["done"] += 1
            report()

        report(force=True)
        workers = options.workers or os.cpu_count() or 1
        if cluster is not None and tasks:
            _run_cluster(cluster, tasks, options, handle, cancel, worker, cluster_status, report)
        elif workers == 1 or total <= 1:
            for task in tasks:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                handle(worker(task, options))
        else:
            _run_pool(tasks, options, workers, handle, cancel, worker)
        writer.flush()
        report(force=True)
    except Cancelled:
        summary.cancelled, status = True, "cancelled"
    except BaseException as exc:
        # a crash is recorded as failed (Ctrl-C as interrupted), never as finished
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        try:
            writer.flush()
        except Exception as exc:  # what could not be written is simply not counted as added
            status, error = "failed", error or f"{type(exc).__name__}: {exc}"
        summary.seconds = round(time.monotonic() - t_start, 3)
        _finish(ctx, summary, source_ids, status, error)
    return summary


def _finish(ctx: CaseContext, summary: IngestSummary, source_ids: list[int], status: str, error: str | None) -> None:
    """Close the run row and write the end entry; its counts add up to what was found."""
    s = summary
    counts = {k: v for k, v in s.as_dict().items() if k not in ("by_kind", "run_id", "analysis")}
    counts["not_processed"] = s.found - s.skipped - s.added - s.duplicates
    with ctx.store.write() as w:
        w.execute("UPDATE ingest_runs SET finished_utc = ?, status = ?, files_done = ?, files_failed = ?, error = ?"
                  " WHERE id = ?", (utc_now(), status, s.added, s.failed, error, s.run_id))
        ctx.audit(w, "ingest.end", {"run_id": s.run_id, "sources": source_ids},
                  {"status": status, "error": error, **counts, "by_kind": s.by_kind})


def _run_cluster(spec: "ClusterSpec", tasks: list[FileTask], options: IngestOptions,
                 handle: Callable[[FileResult], None], cancel: threading.Event | None,
                 worker: Callable[[FileTask, IngestOptions], FileResult], status: dict,
                 report: Callable[..., None]) -> None:
    from forensics.cluster import connect
    from forensics.ingest.cluster_run import run_on_cluster

    warmups = ()
    if options.faces:
        from forensics.faces.detect import load_models

        warmups = (load_models,)
    with connect(spec, faces=options.faces, warmups=warmups) as cl:
        status["text"] = cl.status_text()
        report(force=True)
        ticks = {"n": 0}

        def tick() -> None:
            ticks["n"] += 1
            if ticks["n"] % 200 == 0:  # workers join and leave; asking the scheduler costs a round trip
                status["text"] = cl.status_text()

        run_on_cluster(cl, tasks, options, handle, cancel, worker, _failed, tick)


def _run_pool(tasks: list[FileTask], options: IngestOptions, workers: int,
              handle: Callable[[FileResult], None], cancel: threading.Event | None,
              worker: Callable[[FileTask, IngestOptions], FileResult] = process_file) -> None:
    """Keep a bounded number of files in flight (memory stays flat however large the source).

    A decoder that crashes a worker process, or hangs past `options.file_timeout`, must not
    stop the run: the pool is restarted, and the files that were in flight are retried one
    at a time, so the culprit is found exactly and only it is recorded as failed."""
    pending = list(reversed(tasks))
    suspects: list[FileTask] = []
    while pending or suspects:
        solo = bool(suspects)
        queue = suspects if solo else pending
        limit = 1 if solo else workers * 4
        pool = _pool(1 if solo else workers)
        in_flight: dict[cf.Future, FileTask] = {}
        started: dict[cf.Future, float] = {}
        failure: str | None = None
        try:
            while (queue or in_flight) and failure is None:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                while queue and len(in_flight) < limit:
                    task = queue.pop()
                    in_flight[pool.submit(worker, task, options)] = task
                done, _ = cf.wait(in_flight, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    try:
                        res = fut.result()
                    except cf.process.BrokenProcessPool:
                        failure = "crash"
                        break
                    del in_flight[fut]
                    started.pop(fut, None)
                    handle(res)
                now = time.monotonic()
                for fut in in_flight:
                    if fut not in started and fut.running():
                        started[fut] = now
                if failure is None and any(now - t > options.file_timeout for f, t in started.items() if f in in_flight):
                    failure = "timeout"
                    for proc in list(getattr(pool, "_processes", {}).values()):
                        proc.kill()  # a hung decoder ignores everything else
        finally:
            pool.shutdown(wait=failure is None, cancel_futures=True)
        if failure is None:
            continue
        for fut, task in in_flight.items():
            if solo:
                handle(_failed(task, failure, options.file_timeout))  # alone in the pool: the culprit
            elif failure == "timeout" and fut not in started:
                pending.append(task)  # never started: not a suspect
            else:
                suspects.append(task)


def _failed(task: FileTask, failure: str, timeout: float) -> FileResult:
    res = FileResult(task, {"kind": "other", "relpath": task.relpath.decode("utf-8", "backslashreplace"),
                            "status": "error", "flags": "worker_crash" if failure == "crash" else "timeout"})
    res.errors.append(("internal", "the worker process died while decoding this file (crash in a decoder); not catalogued"
                       if failure == "crash" else f"processing took longer than {timeout:.0f} s and was stopped; not catalogued"))
    return res


class _Writer:
    """Writes results in batched transactions; one file's records are never split."""

    def __init__(self, ctx: CaseContext, summary: IngestSummary, on_committed) -> None:
        self.store = ctx.store
        self.thumbs = ctx.paths.thumbs
        self.summary = summary
        self.on_committed = on_committed
        self.batch: list[FileResult] = []
        self.last = time.monotonic()

    def add(self, res: FileResult) -> None:
        self.batch.append(res)
        if len(self.batch) >= COMMIT_EVERY_N or time.monotonic() - self.last >= COMMIT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        new_ids: list[ItemId] = []
        s = self.summary
        with self.store.write() as w:
            for res in self.batch:
                new_ids.extend(self._write(w, res))
            # the run row counts what is committed, so a killed run still shows how far it got
            w.execute("UPDATE ingest_runs SET files_done = ?, files_failed = ? WHERE id = ?", (s.added, s.failed, s.run_id))
        self.batch = []
        self.last = time.monotonic()
        if self.on_committed and new_ids:
            self.on_committed(new_ids)

    def _thumb(self, sha256: str | None, suffix: str, data: bytes | None) -> str | None:
        if not data or not sha256:
            return None
        rel = f"{sha256[:2]}/{sha256}{suffix}.jpg"
        path = self.thumbs / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # atomic: a killed run never leaves half a thumbnail
        return rel

    def _write(self, w, res: FileResult) -> list[ItemId]:
        s = self.summary
        item = dict(res.item)
        now = utc_now()
        item.update(source_id=res.task.source_id, relpath_raw=res.task.relpath, ingested_utc=now, ingest_run=s.run_id,
                    thumb=self._thumb(item.get("sha256"), "", res.thumb))
        cols = ",".join(item)
        cur = w.execute(f"INSERT OR IGNORE INTO items ({cols}) VALUES ({','.join('?' * len(item))})", list(item.values()))
        if cur.rowcount == 0:  # already there (a concurrent or earlier run): never duplicate
            s.duplicates += 1
            return []
        item_id = ItemId(cur.lastrowid)
        ids = [item_id]
        for stage, msg in res.errors:
            w.execute("INSERT INTO item_errors (item_id, stage, message, time_utc) VALUES (?, ?, ?, ?)", (item_id, stage, msg, now))
        s.added += 1
        s.failed += item["status"] == "error"
        s.by_kind[item["kind"]] = s.by_kind.get(item["kind"], 0) + 1
        faces_mod = None
        if res.faces is not None or any(f.faces is not None for f in res.frames):
            from forensics.faces import pipeline as faces_mod
        if res.faces is not None and faces_mod is not None:
            s.faces += len(faces_mod.write_faces(w, item_id, res.faces, self.thumbs))
        for fr in res.frames:
            fcur = w.execute(
                "INSERT INTO items (kind, source_id, parent_id, relpath, size, sha256, mime, width, height, frame_time,"
                " frame_index, phash, dhash, blank, thumb, flags, status, ingested_utc, ingest_run)"
                " VALUES ('frame', ?, ?, ?, NULL, NULL, 'image/x-video-frame', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?)",
                (res.task.source_id, item_id, item["relpath"], fr.width, fr.height, fr.time,
                 fr.index, fr.phash, fr.dhash, int(fr.blank),
                 self._thumb(item.get("sha256"), f"_f{fr.index}", fr.thumb), "scene_cut" if fr.reason == "scene" else "", now, s.run_id),
            )
            fid = ItemId(fcur.lastrowid)
            ids.append(fid)
            s.frames += 1
            if fr.faces is not None and faces_mod is not None:
                s.faces += len(faces_mod.write_faces(w, fid, fr.faces, self.thumbs))
        if res.frames and faces_mod is not None:
            faces_mod.finish_video(w, item_id)
        return ids
