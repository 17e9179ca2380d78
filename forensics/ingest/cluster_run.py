"""Ingest's per-file worker on a Dask cluster: the same `process_file`, the same records.

The submitting process discovers the files and owns the one writer; files travel to the
workers in chunks (a Dask task with its own key per chunk of small files), each file of a
chunk catalogued on its own in the worker's decoder sandbox. Evidence may be mounted elsewhere on the workers (``--path-map``): the
worker maps the path, checks that the file there has the size the case saw, and records
what it read, so a wrong mapping is an error on the file, never a silently different file.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import threading
from collections.abc import Callable, Iterator

from forensics.cluster import Cluster, map_path, run_sandboxed_each
from forensics.ingest.records import FileResult, FileTask, IngestOptions
from forensics.model import describe_error

# (task, "crash" | "timeout", options, what the never-decoding step read or None) -> record
FailureRecord = Callable[[FileTask, str, IngestOptions, "FileResult | None"], FileResult]


def _mapped(task: FileTask, path_map: tuple[tuple[bytes, bytes], ...]) -> FileTask:
    root = map_path(task.root, path_map)
    if root == task.root:
        return task
    if task.ref is not None:  # a file inside a disk image: the image's segments as the worker sees them
        segments = tuple(os.fsdecode(map_path(os.fsencode(s), path_map)) for s in task.ref.segments)
        return dataclasses.replace(task, root=root, ref=dataclasses.replace(task.ref, segments=segments))
    return dataclasses.replace(task, root=root)


def seen_size(task: FileTask) -> int | None:
    """The size this machine sees for what a task reads: the file, or for a file inside a
    disk image the image's segments together (the path map applies to the image); None
    when it cannot be seen here."""
    try:
        if task.ref is not None:
            return sum(os.lstat(s).st_size for s in task.ref.segments)
        return os.lstat(task.path).st_size
    except OSError:
        return None


def _wrong_mapping(task: FileTask, mapped: FileTask, expect_size: int, size: int | None) -> FileResult:
    item = {"kind": "other", "relpath": task.relpath.decode("utf-8", "backslashreplace"), "status": "error",
            "flags": "path_map_mismatch"}
    res = FileResult(task, item)
    seen = "is missing" if size is None else f"has {size:,} bytes"
    what = (f"the disk image {mapped.ref.segments[0]}" if mapped.ref is not None else os.fsdecode(mapped.path))
    res.errors.append(("read", f"on the worker, {what} {seen} but the case's {'image' if mapped.ref else 'file'} has "
                               f"{expect_size:,} bytes: check --path-map; the file was not catalogued from there"))
    return res


def _in_sandbox(worker: Callable[[FileTask, IngestOptions], FileResult], task: FileTask, mapped: FileTask,
                options: IngestOptions) -> bytes:
    """The sandbox's half: catalogue the file, name it by the case's path, and pickle the
    result once, so the worker passes bytes on instead of unpickling and pickling it again."""
    res = worker(mapped, options)
    res.task = task  # the writer records the case's path, not the worker's mount point
    return pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)


def _hashed(task: FileTask, mapped: FileTask, options: IngestOptions) -> FileResult | None:
    from forensics.ingest.worker import hash_only

    try:
        res = hash_only(mapped, options)
    except Exception:
        return None
    res.task = task
    return res


def chunk_task(worker: Callable[[FileTask, IngestOptions], FileResult], chunk: list[tuple[FileTask, int | None]],
               options: IngestOptions, path_map: tuple[tuple[bytes, bytes], ...], failed: FailureRecord) -> list[bytes]:
    """Runs on a Dask worker, for each (task, expected size) of a chunk: map the path, check
    it, catalogue the file in the worker's decoder sandbox; returns the pickled FileResults
    in order. Files go through the sandbox one at a time, so a crash or hang is pinned on its
    file and recorded like the local pool records it, with the size and digests of the
    never-decoding step, which runs here in the worker (it decodes nothing, so it cannot
    take the worker down)."""
    out: list[bytes | None] = [None] * len(chunk)
    todo: list[tuple[int, FileTask, FileTask]] = []
    for i, (task, expect) in enumerate(chunk):
        mapped = _mapped(task, path_map)
        if expect is not None and mapped is not task:
            size = seen_size(mapped)
            if size != expect:
                out[i] = pickle.dumps(_wrong_mapping(task, mapped, expect, size))
                continue
        todo.append((i, task, mapped))
    outcomes = run_sandboxed_each(options.file_timeout, _in_sandbox, [(worker, t, m, options) for _, t, m in todo])
    for (i, task, mapped), (outcome, data) in zip(todo, outcomes):
        out[i] = data if outcome == "ok" else pickle.dumps(failed(task, outcome, options, _hashed(task, mapped, options)))
    return out  # type: ignore[return-value]


def chunked(tasks: list[FileTask], cluster: Cluster, max_files: int, max_bytes: int, taper: int = 0
            ) -> Iterator[tuple[list[tuple[FileTask, int | None]], list[str] | None]]:
    """Consecutive files in chunks of at most `max_files` files and `max_bytes` bytes (a file
    larger than that is a chunk of its own), never mixing files bound to different workers.
    The size the case sees goes with each file when --path-map is in use (the worker checks it).

    With `taper` (the cluster's worker threads) a chunk holds at most the remaining files
    over twice the threads, so chunks shrink towards the end of a run (guided
    self-scheduling) and the workers run out of files together, instead of one finishing a
    full chunk while the others wait; a small run is spread over every worker this way too."""
    check_size = bool(cluster.spec.path_map)
    remaining = len(tasks)
    images: dict[tuple[str, ...], int | None] = {}  # a disk image's size, looked up once
    chunk: list[tuple[FileTask, int | None]] = []
    nbytes, where = 0, None

    def cap() -> int:
        return max(1, min(max_files, -(-remaining // (2 * taper)))) if taper else max_files

    limit = cap()
    for task in tasks:
        if task.ref is not None:
            size = task.ref.size  # what the worker reads of the image for this file
            if task.ref.segments not in images:
                images[task.ref.segments] = seen_size(task)
            expect = images[task.ref.segments]
        else:
            # None: the submitter cannot see the file, and the worker's read is the record
            size = expect = seen_size(task)
        workers = cluster.workers_for(task.root)
        if chunk and (len(chunk) >= limit or nbytes + (size or 0) > max_bytes or workers != where):
            yield chunk, where
            chunk, nbytes = [], 0
            limit = cap()
        remaining -= 1
        chunk.append((task, expect if check_size else None))
        nbytes += size or 0
        where = workers
    if chunk:
        yield chunk, where


def run_on_cluster(cluster: Cluster, tasks: list[FileTask], options: IngestOptions,
                   handle: Callable[[FileResult], None], cancel: threading.Event | None,
                   worker: Callable[[FileTask, IngestOptions], FileResult],
                   failed: FailureRecord,
                   on_tick: Callable[[], None] | None = None) -> None:
    """Run every task on the cluster, several small files per Dask task; results reach
    `handle` in this thread, one per file.

    Dask retries a task whose worker died. A chunk that killed workers repeatedly
    (`KilledWorker`) is split and its files tried one per task, so only a file that then
    kills workers again is recorded as failed, like the local pool records a crash, with
    its size and digests where a hash-only task can still read them."""
    spec = cluster.spec

    def job(chunk: list[tuple[FileTask, int | None]], workers: list[str] | None, solo: bool = False) -> tuple:
        return (chunk, solo), (worker, chunk, options, spec.path_map, failed), workers

    # Files of chunks that killed workers, tried one at a time: Dask counts a worker's death
    # against every task it was processing, so only a file alone among the suspects when it
    # kills a worker again is the one to record as failed.
    suspects: list[tuple[FileTask, int | None]] = []
    solo_running = [False]

    def next_suspect() -> list[tuple]:
        solo_running[0] = bool(suspects)
        if not suspects:
            return []
        entry = suspects.pop(0)
        return [job([entry], cluster.workers_for(entry[0].root), solo=True)]

    def done(tag: tuple, res: list[bytes] | None, error: BaseException | None) -> list[tuple]:
        chunk, solo = tag
        if error is None and res is not None:
            for data in res:
                handle(pickle.loads(data))  # our own worker's bytes, from this run's tasks
        elif solo:
            handle(_killed(cluster, chunk[0][0], error, options, failed))
        else:  # which file was it? each on its own
            suspects.extend(chunk)
            return [] if solo_running[0] else next_suspect()
        return next_suspect() if solo else []

    threads = max(1, cluster.status()["threads"])
    jobs = (job(c, w) for c, w in chunked(tasks, cluster, spec.chunk_files, spec.chunk_bytes, taper=threads))
    cluster.map_bounded(chunk_task, jobs, done, label="ingest", faces=options.faces, cancel=cancel, on_tick=on_tick)


def _killed(cluster: Cluster, task: FileTask, error: BaseException | None, options: IngestOptions,
            failed: FailureRecord) -> FileResult:
    from distributed.scheduler import KilledWorker

    hashed, why = None, ""
    # What can still be read without decoding, on a worker that sees the evidence. That step
    # cannot take a worker down, so a KilledWorker here is another task's doing (a worker
    # restarted under it): try again, a few times.
    for attempt in range(3):
        try:
            fut = cluster.client.submit(_hash_on_worker, task, cluster.spec.path_map, options,
                                        key=cluster.key(f"digest{attempt}", id(task)), pure=False,
                                        workers=cluster.workers_for(task.root))
            # bounded by the no-workers watch too: with every worker gone the run is about to stop
            hashed = fut.result(timeout=min(max(60.0, options.file_timeout), cluster.spec.no_workers_timeout))
            why = "" if hashed is not None else "the hash-only step failed on the worker"
            break
        except Exception as exc:
            why = describe_error(exc)
            if not isinstance(exc, KilledWorker):
                break
    res = failed(task, "crash", options, hashed)
    if hashed is None:  # the record says why it holds no size or hashes
        res.errors.append(("read", f"size and hashes could not be taken on a worker either: {why}"))
    res.errors[0] = ("internal", "the file killed its worker process each time it was tried (a crash in a decoder, "
                                 f"or processing longer than {options.file_timeout:.0f} s); not decoded"
                     if isinstance(error, KilledWorker) else f"the cluster task failed: {describe_error(error)}")
    return res


def _hash_on_worker(task: FileTask, path_map: tuple[tuple[bytes, bytes], ...], options: IngestOptions) -> FileResult | None:
    return _hashed(task, _mapped(task, path_map), options)
