"""Ingest's per-file worker on a Dask cluster: the same `process_file`, the same records.

The submitting process discovers the files and owns the one writer; each file is a task
with its own key. Evidence may be mounted elsewhere on the workers (``--path-map``): the
worker maps the path, checks that the file there has the size the case saw, and records
what it read, so a wrong mapping is an error on the file, never a silently different file.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import threading
from collections.abc import Callable

from forensics.cluster import Cluster, map_path, run_sandboxed
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


def _wrong_mapping(task: FileTask, mapped: FileTask, expect_size: int, size: int | None) -> FileResult:
    item = {"kind": "other", "relpath": task.relpath.decode("utf-8", "backslashreplace"), "status": "error",
            "flags": "path_map_mismatch"}
    res = FileResult(task, item)
    seen = "is missing" if size is None else f"has {size:,} bytes"
    res.errors.append(("read", f"on the worker, {os.fsdecode(mapped.path)} {seen} but the case's file has "
                               f"{expect_size:,} bytes: check --path-map; the file was not catalogued from there"))
    return res


def _in_sandbox(worker: Callable[[FileTask, IngestOptions], FileResult], task: FileTask, mapped: FileTask,
                options: IngestOptions) -> bytes:
    """The sandbox's half: catalogue the file, name it by the case's path, and pickle the
    result once, so the worker passes bytes on instead of unpickling and pickling it again."""
    res = worker(mapped, options)
    res.task = task  # the writer records the case's path, not the worker's mount point
    return pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)


def worker_task(worker: Callable[[FileTask, IngestOptions], FileResult], task: FileTask, options: IngestOptions,
                path_map: tuple[tuple[bytes, bytes], ...], expect_size: int | None, failed: FailureRecord) -> bytes:
    """Runs on a Dask worker: map the path, check it, catalogue the file in the worker's
    decoder sandbox; returns the pickled FileResult. A crash or hang there is recorded like
    the local pool records it, with the size and digests of the never-decoding step, which
    runs here in the worker (it decodes nothing, so it cannot take the worker down)."""
    mapped = _mapped(task, path_map)
    if expect_size is not None and mapped is not task:
        try:
            size: int | None = os.lstat(mapped.path).st_size
        except OSError:
            size = None
        if size != expect_size:
            return pickle.dumps(_wrong_mapping(task, mapped, expect_size, size))
    outcome, data = run_sandboxed(options.file_timeout, _in_sandbox, worker, task, mapped, options)
    if outcome == "ok":
        return data
    return pickle.dumps(failed(task, outcome, options, _hashed(task, mapped, options)))


def _hashed(task: FileTask, mapped: FileTask, options: IngestOptions) -> FileResult | None:
    from forensics.ingest.worker import hash_only

    try:
        res = hash_only(mapped, options)
    except Exception:
        return None
    res.task = task
    return res


def run_on_cluster(cluster: Cluster, tasks: list[FileTask], options: IngestOptions,
                   handle: Callable[[FileResult], None], cancel: threading.Event | None,
                   worker: Callable[[FileTask, IngestOptions], FileResult],
                   failed: FailureRecord,
                   on_tick: Callable[[], None] | None = None) -> None:
    """Run every task on the cluster; results reach `handle` in this thread, one per file.

    Dask retries a task whose worker died; a file that killed workers repeatedly comes
    back as an error (`KilledWorker`) and is recorded like the local pool records a crash,
    with its size and digests where a hash-only task can still read them."""
    spec = cluster.spec
    check_size = bool(spec.path_map)

    def jobs():
        for task in tasks:
            expect = None
            if check_size:
                try:
                    expect = os.lstat(task.path).st_size
                except OSError:
                    expect = None  # the submitter cannot see it: the worker's read is the record
            yield task, (worker, task, options, spec.path_map, expect, failed), cluster.workers_for(task.root)

    def done(task: FileTask, res: FileResult | None, error: BaseException | None) -> None:
        if error is None and res is not None:
            handle(pickle.loads(res))  # our own worker's bytes, from this run's tasks
            return
        handle(_killed(cluster, task, error, options, failed))

    cluster.map_bounded(worker_task, jobs(), done, label="ingest", faces=options.faces, cancel=cancel, on_tick=on_tick)


def _killed(cluster: Cluster, task: FileTask, error: BaseException | None, options: IngestOptions,
            failed: FailureRecord) -> FileResult:
    from distributed.scheduler import KilledWorker

    try:  # what can still be read without decoding, on a worker that sees the evidence
        fut = cluster.client.submit(_hash_on_worker, task, cluster.spec.path_map, options,
                                    key=cluster.key("digest", id(task)), pure=False, workers=cluster.workers_for(task.root))
        hashed = fut.result(timeout=max(60.0, options.file_timeout))
    except Exception:
        hashed = None
    res = failed(task, "crash", options, hashed)
    res.errors[0] = ("internal", "the file killed its worker process each time it was tried (a crash in a decoder, "
                                 f"or processing longer than {options.file_timeout:.0f} s); not decoded"
                     if isinstance(error, KilledWorker) else f"the cluster task failed: {describe_error(error)}")
    return res


def _hash_on_worker(task: FileTask, path_map: tuple[tuple[bytes, bytes], ...], options: IngestOptions) -> FileResult | None:
    return _hashed(task, _mapped(task, path_map), options)
