"""Ingest: discover files, run the per-file worker in a process pool, write results.

Resumable by construction: each file's item, frames, faces and errors are committed in
the same transaction, and files already in the case are skipped. A run killed at any
moment (even SIGKILL) keeps every committed file; running it again finishes the job
without duplicates (unique indexes on (source, path) and (video, frame) guarantee it).
"""
from __future__ import annotations

import concurrent.futures as cf
import copy
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from forensics import audit
from forensics.clock import utc_now
from forensics.context import CaseContext
from forensics.evidence import noatime_message
from forensics.store.db import StorageError
from forensics.ingest import deadline
from forensics.ingest.discover import walk_source
from forensics.ingest.records import FileResult, FileTask, IngestOptions
from forensics.ingest.runs import close_interrupted, lock_sources, run_lock
from forensics.ingest.worker import hash_only, process_file
from forensics.model import Cancelled, ItemId, Progress, describe_error

if TYPE_CHECKING:
    from forensics.cluster import Cluster, ClusterSpec, Starting

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
    retried: int = 0  # files tried again after an earlier failure
    recovered: int = 0  # of those, now catalogued without error
    noatime_refused: int = 0  # files whose access time the OS would not let us preserve
    seconds: float = 0.0
    cancelled: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)
    analysis: dict | None = None  # set by Case.ingest_and_analyse: hash sets, copy groups, clusters

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        if d["analysis"] is None:
            del d["analysis"]
        return d


def _pool(workers: int, heartbeats: str | None = None) -> cf.ProcessPoolExecutor:
    # spawn, not fork: ingest may run from a GUI thread, and forking a threaded process can deadlock.
    ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=500,
                                  initializer=deadline.init_worker, initargs=(heartbeats,))


def run_ingest(ctx: CaseContext, source_ids: list[int], options: IngestOptions,
               progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
               on_committed: Callable[[list[ItemId]], None] | None = None,
               worker: Callable[[FileTask, IngestOptions], FileResult] = process_file,
               retry_failed: bool = False,
               cluster: "ClusterSpec | None" = None) -> IngestSummary:
    """Ingest the given sources of the case. `worker` is the per-file function (a picklable
    module-level callable). It runs in a local process pool, or on a Dask cluster when
    `cluster` is given (`forensics.cluster`); the records are the same either way.

    Files that failed earlier for a reason that can pass (I/O, stat, permission, timeout)
    are tried again; with `retry_failed`, every file recorded with an error is."""
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
        return _run(ctx, run_id, source_ids, options, progress, cancel, on_committed, worker, retry_failed, cluster)
    finally:
        if run_lock_ is not None:
            run_lock_.release(unlink=True)
        for lock in source_locks:
            lock.release()


def _run(ctx: CaseContext, run_id: int, source_ids: list[int], options: IngestOptions,
         progress: Callable[[Progress], None] | None, cancel: threading.Event | None,
         on_committed: Callable[[list[ItemId]], None] | None,
         worker: Callable[[FileTask, IngestOptions], FileResult], retry_failed: bool = False,
         cluster: "ClusterSpec | None" = None) -> IngestSummary:
    store = ctx.store
    summary = IngestSummary(run_id)
    t_start = time.monotonic()
    writer = _Writer(ctx, summary, on_committed)
    status, error = "finished", None
    media = MediaHashes()
    cluster_status = {"text": ""}  # the cluster's workers and dashboard, when one is used
    starting: "Starting | None" = None
    try:
        if cluster is not None:  # it starts while the sources are walked (processes, imports: seconds)
            starting = _start_cluster(cluster, options, worker)
        tasks: list[FileTask] = []
        for sid in source_ids:
            root, kind = store.read.execute("SELECT path_raw, kind FROM sources WHERE id = ?", (sid,)).fetchone()
            # Files that failed for a reason that can pass (retry = 1) are tried again, in place;
            # with retry_failed, every file recorded with an error is.
            again = "status = 'error'" if retry_failed else "retry = 1"
            done = {r[0]: r[1] for r in store.query(
                f"SELECT relpath_raw, CASE WHEN {again} THEN id END FROM items WHERE source_id = ? AND parent_id IS NULL",
                (sid,))}
            if kind == "image":
                from forensics.ingest import images

                media.start(ctx, sid, cancel)
            for task in (images.image_tasks(ctx, sid, root) if kind == "image" else walk_source(sid, root)):
                summary.found += 1
                if task.relpath not in done:
                    tasks.append(task)
                elif done[task.relpath] is not None:
                    writer.replace[(sid, task.relpath)] = done[task.relpath]
                    tasks.append(task)
                else:
                    summary.skipped += 1
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
            progress(Progress(state["done"], total, summary.failed, rate, eta,
                              " · ".join(t for t in (media.status(), cluster_status["text"]) if t)))

        def handle(res: FileResult) -> None:
            writer.add(res)
            state["done"] += 1
            report()

        report(force=True)
        workers = options.workers or os.cpu_count() or 1
        if starting is not None and tasks:
            _run_cluster(starting.result(), tasks, options, handle, cancel, worker, cluster_status, report)
        elif workers == 1 or total <= 1:
            for task in tasks:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                handle(worker(task, options))
        else:
            _run_pool(tasks, options, workers, handle, cancel, worker)
        media.wait(progress, cancel)
        writer.flush()
        report(force=True)
    except Cancelled:
        summary.cancelled, status = True, "cancelled"
    except BaseException as exc:
        # a crash is recorded as failed (Ctrl-C as interrupted), never as finished
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        error = str(exc) if isinstance(exc, StorageError) else describe_error(exc)
        if isinstance(exc, StorageError):
            writer.batch.clear()  # a full disk: what was not committed is ingested by the next run
        raise
    finally:
        media.stop()
        if starting is not None:
            try:
                starting.close()
            except Exception:
                pass  # a cluster that fails to close (a lost scheduler) changes nothing in the case
        try:
            writer.flush()
        except Exception as exc:  # what could not be written is simply not counted as added
            status, error = "failed", error or describe_error(exc)
        summary.seconds = round(time.monotonic() - t_start, 3)
        try:
            _finish(ctx, summary, source_ids, status, error)
        except StorageError:
            # the disk is full: the space reserve pays for the end of the run's record
            if status != "failed" or not store.release_reserve():
                raise
            _finish(ctx, summary, source_ids, status, error)
    return summary


def _finish(ctx: CaseContext, summary: IngestSummary, source_ids: list[int], status: str, error: str | None) -> None:
    """Close the run row and write the end entry; its counts add up to what was found."""
    s = summary
    counts = {k: v for k, v in s.as_dict().items() if k not in ("by_kind", "run_id", "analysis")}
    counts["not_processed"] = s.found - s.skipped - s.added - s.duplicates - s.retried
    note = noatime_message(s.noatime_refused)  # said once per run, in its record
    with ctx.store.write() as w:
        w.execute("UPDATE ingest_runs SET finished_utc = ?, status = ?, files_done = ?, files_failed = ?, error = ?,"
                  " notes = ? WHERE id = ?", (utc_now(), status, s.added, s.failed, error, note, s.run_id))
        ctx.audit(w, "ingest.end", {"run_id": s.run_id, "sources": source_ids},
                  {"status": status, "error": error, **counts, "by_kind": s.by_kind, **({"note": note} if note else {})})


class MediaHashes:
    """Whole-media hashes of the disk images being ingested, computed in a background thread
    while their files are processed: hashing is I/O plus C code that releases the GIL, so it
    overlaps the workers instead of delaying them (one pass per image, recorded once)."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.done_bytes = 0
        self.total_bytes = 0
        self._lock = threading.Lock()

    def start(self, case, source_id: int, cancel: threading.Event | None) -> None:
        from forensics.diskimage.sources import ensure_media_hash

        def tick(p: Progress) -> None:
            with self._lock:
                self.done_bytes, self.total_bytes = p.done, p.total

        def run() -> None:
            try:
                ensure_media_hash(case.store, case.audit, source_id, tick, cancel)
            except Exception as exc:  # recorded on the source; never takes the ingest down
                from forensics.diskimage.sources import add_error

                with case.store.write() as w:
                    add_error(w, source_id, "hash", f"media hash failed: {type(exc).__name__}: {exc}")

        # Threads run one after another (one image read at a time keeps the disk sequential).
        prev = self.threads[-1] if self.threads else None
        t = threading.Thread(target=lambda: (prev.join() if prev else None, run()), name=f"media-hash-{source_id}",
                             daemon=True)
        self.threads.append(t)
        t.start()

    def status(self) -> str:
        if not self.threads or not any(t.is_alive() for t in self.threads):
            return ""
        with self._lock:
            return f"image media hash {self.done_bytes:,}/{self.total_bytes:,} MiB"

    def wait(self, progress: Callable[[Progress], None] | None, cancel: threading.Event | None = None) -> None:
        """Until every media hash is recorded, reporting its progress (cancel stops it)."""
        for t in self.threads:
            while t.is_alive():
                t.join(0.5)
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                if progress is not None and t.is_alive():
                    with self._lock:
                        done, total = self.done_bytes, self.total_bytes
                    progress(Progress(done, total, 0, 0.0, None, "hashing the image media (MiB)"))

    def stop(self) -> None:
        """After a cancel: the threads see the flag within one read; let them record and end."""
        for t in self.threads:
            t.join(30)


def _start_cluster(spec: "ClusterSpec", options: IngestOptions,
                   worker: Callable[[FileTask, IngestOptions], FileResult]) -> "Starting":
    """Start connecting to the cluster in the background. The workers' decoder sandboxes
    import the per-file code (and load the face models) before their first file, as the
    local pool's processes do."""
    from forensics.cluster import Starting

    warmups: tuple[Callable[[], object], ...] = (_ready,)
    if options.faces:
        from forensics.faces.detect import load_models

        warmups += (load_models,)
    # the forkserver imports these before forking the workers (only the project's own: a
    # module that fails there other than with ImportError would take the server down)
    modules = tuple(dict.fromkeys(m for m in ("forensics.ingest.cluster_run", __name__, worker.__module__)
                                  if m.startswith("forensics.")))
    return Starting(spec, faces=options.faces, warmups=warmups, modules=modules)


def _run_cluster(cl: "Cluster", tasks: list[FileTask], options: IngestOptions,
                 handle: Callable[[FileResult], None], cancel: threading.Event | None,
                 worker: Callable[[FileTask, IngestOptions], FileResult], status: dict,
                 report: Callable[..., None]) -> None:
    from forensics.ingest.cluster_run import run_on_cluster

    status["text"] = cl.status_text()
    report(force=True)
    ticks = {"n": 0}

    def tick() -> None:
        ticks["n"] += 1
        if ticks["n"] % 200 == 0:  # workers join and leave; asking the scheduler costs a round trip
            status["text"] = cl.status_text()

    run_on_cluster(cl, tasks, options, handle, cancel, worker, failure_record, tick)


def _run_pool(tasks: list[FileTask], options: IngestOptions, workers: int,
              handle: Callable[[FileResult], None], cancel: threading.Event | None,
              worker: Callable[[FileTask, IngestOptions], FileResult] = process_file) -> None:
    """Keep a bounded number of files in flight (memory stays flat however large the source).

    A decoder that crashes a worker process, or hangs past its deadline, must not stop the
    run: the pool is restarted, and the files that were in flight are retried one at a
    time, so the culprit is found exactly and only it is recorded as failed. The deadline
    is `options.file_timeout`, extended by a video's reported progress
    (forensics.ingest.deadline), so long footage is not killed for being long."""
    heartbeats = deadline.new_folder()
    try:
        _run_pool_in(tasks, options, workers, handle, cancel, worker, heartbeats)
    finally:
        deadline.remove_folder(heartbeats)


def _run_pool_in(tasks: list[FileTask], options: IngestOptions, workers: int,
                 handle: Callable[[FileResult], None], cancel: threading.Event | None,
                 worker: Callable[[FileTask, IngestOptions], FileResult], heartbeats: str) -> None:
    pending = list(reversed(tasks))
    suspects: list[FileTask] = []
    while pending or suspects:
        solo = bool(suspects)
        queue = suspects if solo else pending
        limit = 1 if solo else workers * 4
        pool = _pool(1 if solo else workers, heartbeats)
        _warm(pool, 1 if solo else workers)
        in_flight: dict[cf.Future, FileTask] = {}
        started: dict[cf.Future, float] = {}
        failure: str | None = None
        try:
            while (queue or in_flight) and failure is None:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                while queue and len(in_flight) < limit:
                    task = queue.pop()
                    in_flight[pool.submit(deadline.run_task, worker, task, options)] = task
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
                # the heartbeat is read only once the plain limit has passed
                if failure is None and any(now - t > options.file_timeout
                                           and now - t > deadline.allowed(options, heartbeats, in_flight[f])
                                           for f, t in started.items() if f in in_flight):
                    failure = "timeout"
                    for proc in list(getattr(pool, "_processes", {}).values()):
                        proc.kill()  # a hung decoder ignores everything else
        finally:
            pool.shutdown(wait=failure is None, cancel_futures=True)
        if failure is None:
            continue
        for fut, task in in_flight.items():
            if solo:
                handle(_after_failure(task, failure, options))  # alone in the pool: the culprit
            elif failure == "timeout" and fut not in started:
                pending.append(task)  # never started: not a suspect
            else:
                suspects.append(task)


def _after_failure(task: FileTask, failure: str, options: IngestOptions) -> FileResult:
    """The record of a file that crashed or hung its worker: size, times and digests from
    the step that never decodes (in a fresh process, under the same time limit), so only
    the derived data is lost. A timeout can pass (a slow or stalled medium): retried."""
    return failure_record(task, failure, options, _solo(hash_only, task, options))


def failure_record(task: FileTask, failure: str, options: IngestOptions, res: FileResult | None) -> FileResult:
    """The record of a file whose decoding crashed ("crash") or hung ("timeout"), from what
    the never-decoding step `hash_only` gave (None when even that failed). The local pool
    and the Dask workers (forensics.ingest.cluster_run) record such files the same way."""
    if res is None:
        res = FileResult(task, {"kind": "other", "relpath": task.relpath.decode("utf-8", "backslashreplace"),
                                "status": "error"})
        what = "not catalogued (even reading its bytes failed)"
    else:
        what = "size and hashes recorded; no thumbnail, perceptual hashes or faces"
    item = res.item
    item["status"] = "error"
    item["flags"] = " ".join(dict.fromkeys((item.get("flags") or "").split() + [
        "worker_crash" if failure == "crash" else "timeout"]))
    if failure == "timeout":
        item["retry"] = 1
    res.errors.insert(0, ("internal", f"the worker process died while decoding this file (crash in a decoder); {what}"
                          if failure == "crash" else
                          f"processing took longer than {options.file_timeout:.0f} s (plus"
                          f" {options.timeout_per_media_second:g} s per media second decoded) and was stopped; {what}"))
    return res


def _ready() -> int:
    # The per-file path imports its decoders lazily; paid here, before any clock runs.
    import exifread  # noqa: F401

    import forensics.exif  # noqa: F401
    import forensics.hashing.perceptual  # noqa: F401
    import forensics.ingest.worker  # noqa: F401
    import forensics.media.image  # noqa: F401

    return os.getpid()


def _warm(pool: cf.ProcessPoolExecutor, workers: int) -> None:
    """Start the pool's processes before the first file: `file_timeout` then measures the
    work on a file, not the start-up of a process on a loaded machine."""
    try:
        for fut in [pool.submit(_ready) for _ in range(workers)]:
            fut.result(timeout=300)
    except (cf.TimeoutError, cf.process.BrokenProcessPool):
        pass  # the run itself will meet and record the problem


def _solo(fn: Callable[[FileTask, IngestOptions], FileResult], task: FileTask, options: IngestOptions) -> FileResult | None:
    """`fn(task, options)` alone in a fresh worker process; None if it crashes or overruns."""
    pool = _pool(1)
    try:
        _warm(pool, 1)
        return pool.submit(fn, task, options).result(timeout=options.file_timeout)
    except (cf.TimeoutError, cf.process.BrokenProcessPool):
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        return None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class _Writer:
    """Writes results in batched transactions; one file's records are never split."""

    def __init__(self, ctx: CaseContext, summary: IngestSummary, on_committed) -> None:
        self.store = ctx.store
        self.thumbs = ctx.paths.thumbs
        self.summary = summary
        self.on_committed = on_committed
        self.batch: list[FileResult] = []
        self.last = time.monotonic()
        # (source id, relpath) -> id of an item recorded as failed, written again in place
        self.replace: dict[tuple[int, bytes], ItemId] = {}
        self.written: list[Path] = []

    def add(self, res: FileResult) -> None:
        self.batch.append(res)
        if len(self.batch) >= COMMIT_EVERY_N or time.monotonic() - self.last >= COMMIT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        try:
            self._commit(self.batch)
        except StorageError:
            if len(self.batch) == 1:
                raise
            # A full disk fails the whole batch's transaction. Commit what still fits file by
            # file, so a run stopped by the disk keeps every file that could be written; the
            # first file that does not fit ends the run and the next run ingests the rest.
            for i, res in enumerate(self.batch):
                try:
                    self._commit([res])
                except StorageError:
                    self.batch = self.batch[i:]
                    raise
        self.batch = []
        self.last = time.monotonic()

    def _commit(self, results: list[FileResult]) -> None:
        """One transaction for `results`; on failure the run's counts and the retry map are
        as before it, so they describe only what is committed."""
        s = self.summary
        counts = copy.deepcopy(s.__dict__)
        new_ids: list[ItemId] = []
        self.written: list[Path] = []  # thumbnails this transaction adds
        self.popped: list[tuple[tuple[int, bytes], int]] = []  # retry-map entries it used, to put back
        try:
            with self.store.write() as w:
                for res in results:
                    new_ids.extend(self._write(w, res))
                # the run row counts what is committed, so a killed run still shows how far it got
                w.execute("UPDATE ingest_runs SET files_done = ?, files_failed = ? WHERE id = ?",
                          (s.added, s.failed, s.run_id))
        except BaseException:
            s.__dict__.update(counts)
            self.replace.update(self.popped)
            for path in self.written:  # no thumbnail without its row: the space goes back too
                path.unlink(missing_ok=True)
            raise
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
            try:
                tmp.write_bytes(data)
                os.replace(tmp, path)  # atomic: a killed run never leaves half a thumbnail
                self.written.append(path)
            except OSError:
                tmp.unlink(missing_ok=True)  # disk full: no partial file left behind
                raise
        return rel

    def _write(self, w, res: FileResult) -> list[ItemId]:
        s = self.summary
        item = dict(res.item)
        now = utc_now()
        item.update(source_id=res.task.source_id, relpath_raw=res.task.relpath, ingested_utc=now, ingest_run=s.run_id,
                    thumb=self._thumb(item.get("sha256"), "", res.thumb))
        key = (res.task.source_id, res.task.relpath)
        old = self.replace.pop(key, None)
        if old is not None:
            self.popped.append((key, old))
            item_id = _rewrite(w, old, item)
            s.retried += 1
            s.recovered += item["status"] == "ok"
        else:
            cols = ",".join(item)
            cur = w.execute(f"INSERT OR IGNORE INTO items ({cols}) VALUES ({','.join('?' * len(item))})", list(item.values()))
            if cur.rowcount == 0:  # already there (a concurrent or earlier run): never duplicate
                s.duplicates += 1
                return []
            item_id = ItemId(cur.lastrowid)
        ids = [item_id] if old is None else []  # a retried item is already shown wherever items are
        if res.task.ref is not None:
            from forensics.ingest.images import write_ref

            write_ref(w, item_id, res.task)
        if res.probes is not None:
            w.execute("INSERT OR REPLACE INTO item_probes (item_id, hashes) VALUES (?, ?)", (item_id, res.probes))
        for stage, msg in res.errors:
            w.execute("INSERT INTO item_errors (item_id, stage, message, time_utc) VALUES (?, ?, ?, ?)", (item_id, stage, msg, now))
        s.added += old is None
        s.noatime_refused += res.noatime_refused
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


# Columns a retry recomputes; the item's identity and the analyst's marks are kept.
_KEEP = {"id", "source_id", "parent_id", "relpath_raw", "category", "bookmarked", "note"}


def _rewrite(w, item_id: ItemId, item: dict) -> ItemId:
    """Write a retried file over its earlier failed record: same id (so tags, category and
    notes stay), everything derived from the old attempt dropped."""
    cols = [r[1] for r in w.execute("PRAGMA table_info(items)") if r[1] not in _KEEP]
    defaults = {"blank": 0, "flags": "", "status": "ok", "retry": 0}
    values = {c: item.get(c, defaults.get(c)) for c in cols}
    w.execute(f"UPDATE items SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?", [*values.values(), item_id])
    for table in ("item_errors", "face_analysis", "copy_fine_hashes", "hash_matches", "copy_members"):
        w.execute(f"DELETE FROM {table} WHERE item_id = ?", (item_id,))
    w.execute("DELETE FROM faces WHERE item_id = ?", (item_id,))
    w.execute("DELETE FROM face_tracks WHERE video_id = ?", (item_id,))
    w.execute("DELETE FROM items WHERE parent_id = ?", (item_id,))  # frames of an earlier attempt
    # Hashes may be new while item counts stay: mark hash-set matches and copy groups stale.
    w.execute("UPDATE hash_sets SET matched_items = -1")
    w.execute("UPDATE copy_runs SET items = -1 WHERE id = (SELECT MAX(id) FROM copy_runs)")
    return item_id
