"""Run per-file work on a Dask distributed cluster (a `LocalCluster` or a lab's scheduler).

The case database stays with the submitting process: workers only compute, results stream
back to the one writer. What this module adds over a process pool is what Dask expects
from a well-behaved client:

* an explicit key per task (``pure=False``), so two files that happen to produce the same
  call are never merged into one task;
* a bounded window of futures fed through ``as_completed``, so the client holds at most a
  few times as many futures as there are worker threads however many files there are;
* a `WorkerPlugin` that prepares each worker process once (one OpenMP thread, the
  project's Pillow policy, face models loaded before the first task);
* ``resources={"FACES": 1}`` for face work, when the cluster's workers declare it;
* a sandbox process per worker thread for the decoders: a file that crashes or hangs a
  decoder costs that child process (restarted for the next file) and is recorded as failed,
  exactly as with the local pool; a worker that dies for other reasons (out of memory, a
  machine lost) is rescheduled by Dask, and a task that kills workers repeatedly comes back
  as `KilledWorker` and is recorded as failed too.

Security: a scheduler that is not on this machine is reached over TLS (``tls://``) unless
the examiner says ``--insecure-cluster``. Dask's workers run whatever the client sends them,
so a cluster must only ever be on a trusted network (see docs/scale.md).
"""
from __future__ import annotations

import importlib
import ipaddress
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from forensics.model import Cancelled, CaseError

ENV_VAR = "FORENSICS_CLUSTER"
FACES_RESOURCE = "FACES"


@dataclass(frozen=True)
class ClusterSpec:
    """Where to run: ``local:N`` (a LocalCluster of N worker processes on this machine) or a
    scheduler address (``tcp://host:8786``, ``tls://host:8786``)."""

    address: str
    insecure: bool = False  # allow plain tcp:// to a scheduler that is not on this machine
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    path_map: tuple[tuple[bytes, bytes], ...] = ()  # (case's source prefix, worker's prefix)
    source_workers: tuple[tuple[bytes, tuple[str, ...]], ...] = ()  # data locality: source prefix -> workers
    window_per_thread: int = 4  # futures in flight per worker thread (back-pressure)
    # Files per ingest task: each task costs the submitter's client and scheduler a few ms of
    # CPU and the worker a round trip, about as much as cataloguing a small photo, so small
    # files travel in chunks (by count and by bytes; a large video is a chunk of its own).
    chunk_files: int = 32
    chunk_bytes: int = 32 << 20

    @property
    def local_workers(self) -> int | None:
        if self.address.startswith("local:"):
            return int(self.address.split(":", 1)[1])
        return None

    def as_dict(self) -> dict:
        """For the run record and the audit log (no key material, only file names)."""
        return {"address": self.address, "insecure": self.insecure,
                "tls": bool(self.tls_ca_file or self.tls_cert),
                "path_map": [[os.fsdecode(a), os.fsdecode(b)] for a, b in self.path_map],
                "source_workers": [[os.fsdecode(a), list(w)] for a, w in self.source_workers]}


def parse_path_map(values: Iterable[str]) -> tuple[tuple[bytes, bytes], ...]:
    """``/mnt/evidence=/srv/evidence`` pairs, longest prefix first."""
    out = []
    for v in values:
        if "=" not in v:
            raise CaseError(f"--path-map takes CASE_PATH=WORKER_PATH, not {v!r}")
        a, b = v.split("=", 1)
        if not a.startswith("/") or not b.startswith("/"):
            raise CaseError(f"--path-map needs absolute paths on both sides: {v!r}")
        out.append((os.fsencode(a.rstrip("/") or "/"), os.fsencode(b.rstrip("/") or "/")))
    return tuple(sorted(out, key=lambda p: -len(p[0])))


def parse_source_workers(values: Iterable[str]) -> tuple[tuple[bytes, tuple[str, ...]], ...]:
    """``/mnt/disk3=tcp://10.0.0.7:40000,tcp://10.0.0.8:40000``: files under the prefix run
    only on those workers (evidence on per-worker disks)."""
    out = []
    for v in values:
        if "=" not in v:
            raise CaseError(f"--source-workers takes SOURCE_PATH=WORKER[,WORKER...], not {v!r}")
        a, b = v.split("=", 1)
        workers = tuple(w.strip() for w in b.split(",") if w.strip())
        if not workers:
            raise CaseError(f"--source-workers names no worker: {v!r}")
        out.append((os.fsencode(a.rstrip("/") or "/"), workers))
    return tuple(sorted(out, key=lambda p: -len(p[0])))


def map_path(path: bytes, path_map: tuple[tuple[bytes, bytes], ...]) -> bytes:
    """The worker's path for a case path (longest matching prefix wins; none: unchanged)."""
    for src, dst in path_map:
        if path == src:
            return dst
        if path.startswith(src.rstrip(b"/") + b"/"):
            return dst.rstrip(b"/") + path[len(src.rstrip(b"/")):]
    return path


def spec_from(address: str | None, **kw: Any) -> ClusterSpec | None:
    """The cluster the examiner asked for: the option, else $FORENSICS_CLUSTER, else None
    (the local process pool)."""
    address = (address or os.environ.get(ENV_VAR) or "").strip()
    if not address or address in ("none", "pool"):
        return None
    spec = ClusterSpec(address=address, **kw)
    check_spec(spec)
    return spec


def _is_local_host(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
    except OSError:
        return False


def check_spec(spec: ClusterSpec) -> None:
    """Refuse what Dask's security notes warn against: plain TCP to another machine."""
    if spec.address.startswith("local:"):
        n = spec.address.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise CaseError(f"--cluster local:N needs a number of workers of 1 or more, not {spec.address!r}")
        return
    parts = urlsplit(spec.address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        raise CaseError(f"--cluster takes local:N, tcp://HOST:PORT or tls://HOST:PORT, not {spec.address!r}")
    if parts.scheme == "tcp" and not spec.insecure and not _is_local_host(parts.hostname):
        raise CaseError(
            f"{spec.address} is not on this machine: evidence and results would cross the network unencrypted. "
            "Use tls:// with --tls-ca-file/--tls-cert/--tls-key, or --insecure-cluster on a trusted, isolated lab network.")
    if parts.scheme == "tls" and not (spec.tls_ca_file and spec.tls_cert and spec.tls_key) and not _tls_configured():
        raise CaseError("a tls:// scheduler needs --tls-ca-file, --tls-cert and --tls-key "
                        "(or distributed.comm.tls.* in the Dask configuration)")


def _tls_configured() -> bool:
    """Whether Dask's own configuration (~/.config/dask/*.yaml or DASK_* variables) names the
    CA and client certificate, which Client() then uses for tls:// by itself."""
    try:
        import dask

        return bool(dask.config.get("distributed.comm.tls.ca-file", None)
                    and dask.config.get("distributed.comm.tls.client.cert", None))
    except Exception:
        return False


def worker_prepare(warmups: tuple[Callable[[], Any], ...] = ()) -> dict:
    """Make this worker process ready for forensics tasks; returns what it did. Runs once per
    worker (from the plugin, also for workers that join or restart later) and is cheap to
    repeat. `warmups` are module-level callables (for example the face model loader) that
    the caller passes, so this module needs no knowledge of the services."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # the project's policy: truncated images are flagged
    for fn in warmups:
        fn()
    return {"pid": os.getpid(), "warmups": [getattr(f, "__qualname__", str(f)) for f in warmups]}


class ForensicsWorkerPlugin:
    """The worker-side half of a run (a Dask WorkerPlugin once combined with Dask's base
    class in `connect`, so this module imports without distributed)."""

    name = "forensics"

    def __init__(self, warmups: tuple[Callable[[], Any], ...]) -> None:
        self.warmups = warmups

    def setup(self, worker: Any) -> None:
        worker_prepare()
        _sandbox_pool(self.warmups)  # the decoder process: models load there, once

    def teardown(self, worker: Any) -> None:
        _reset_sandbox()


_SANDBOX: dict[str, Any] = {}
_SANDBOX_LOCK = threading.Lock()


def _sandbox_pool(warmups: tuple[Callable[[], Any], ...] = ()):
    """This worker's decoder sandbox: a child process (one per worker thread) that runs the
    per-file work, so a decoder that crashes or hangs takes down only that child and never
    the Dask worker (a worker that dies is rescheduled by Dask, and one that keeps dying
    while its nanny restarts it can leave a cluster with no workers at all)."""
    import concurrent.futures as cf
    import multiprocessing

    with _SANDBOX_LOCK:
        pool = _SANDBOX.get("pool")
        if pool is None:
            try:
                from distributed import get_worker

                threads = get_worker().state.nthreads
            except Exception:
                threads = 1
            # Dask starts workers as daemonic processes, which multiprocessing forbids to have
            # children. The nanny, not this flag, decides this worker's lifetime, and the
            # sandbox's children exit when their pipe to this process closes.
            multiprocessing.current_process()._config["daemon"] = False
            pool = cf.ProcessPoolExecutor(max_workers=max(1, threads), mp_context=multiprocessing.get_context("spawn"))
            _SANDBOX["pool"] = pool
            # started and warmed before any file is timed: a timeout measures the file, not
            # the child's start-up and imports
            pool.submit(worker_prepare, warmups or _SANDBOX.get("warmups", ())).result()
        if warmups:
            _SANDBOX["warmups"] = warmups
        return pool


def _reset_sandbox() -> None:
    with _SANDBOX_LOCK:
        pool = _SANDBOX.pop("pool", None)
        _SANDBOX.pop("imported", None)
    if pool is not None:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()  # a hung decoder ignores everything else
        pool.shutdown(wait=False, cancel_futures=True)


def _import(module: str) -> None:
    importlib.import_module(module)


def run_sandboxed(timeout: float, fn: Callable, *args: Any) -> tuple[str, Any]:
    """Run ``fn(*args)`` in this worker's sandbox process: ("ok", result), or ("crash", None)
    when the process died, or ("timeout", None) past `timeout` seconds (the process is killed)."""
    import concurrent.futures as cf

    pool = _sandbox_pool()
    imported = _SANDBOX.setdefault("imported", set())
    for module in {fn.__module__, *(a.__module__ for a in args if callable(a) and hasattr(a, "__module__"))}:
        if module not in imported:
            pool.submit(_import, module).result()  # imports are not the file's time
            imported.add(module)
    fut = pool.submit(fn, *args)
    try:
        return "ok", fut.result(timeout=timeout)
    except cf.process.BrokenProcessPool:
        _reset_sandbox()
        return "crash", None
    except cf.TimeoutError:
        _reset_sandbox()
        return "timeout", None


@dataclass
class Cluster:
    """A connected Dask client (and the LocalCluster it owns, for ``local:N``)."""

    spec: ClusterSpec
    client: Any
    local: Any = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def status(self) -> dict:
        info = self.client.scheduler_info()
        workers = info.get("workers", {})
        link = None
        if info.get("services", {}).get("dashboard"):
            try:
                link = self.client.dashboard_link
            except Exception:
                link = None
        return {"address": self.spec.address, "workers": len(workers),
                "threads": sum(w.get("nthreads", 1) for w in workers.values()),
                "faces_workers": sum(1 for w in workers.values() if FACES_RESOURCE in (w.get("resources") or {})),
                "dashboard": link}

    def status_text(self) -> str:
        st = self.status()
        text = f"{st['workers']} workers connected to {st['address']}"
        return text + (f"; dashboard {st['dashboard']}" if st["dashboard"] else "")

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.local is not None:
                self.local.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def key(self, label: str, n: int) -> str:
        """An explicit task key, unique to this run (Dask's pure=True would merge identical calls)."""
        return f"forensics-{label}-{self.token}-{n}"

    def resources(self, faces: bool) -> dict | None:
        if faces and self.status()["faces_workers"]:
            return {FACES_RESOURCE: 1}
        return None

    def workers_for(self, path: bytes) -> list[str] | None:
        for prefix, workers in self.spec.source_workers:
            if path == prefix or path.startswith(prefix.rstrip(b"/") + b"/"):
                return list(workers)
        return None

    def window(self) -> int:
        """How many futures a run keeps in flight: `window_per_thread` per worker thread."""
        return max(2, max(1, self.status()["threads"]) * self.spec.window_per_thread)

    def map_bounded(self, fn: Callable, jobs: Iterable[tuple[Any, tuple, list[str] | None]],
                    handle: Callable[[Any, Any, BaseException | None], Iterable | None],
                    label: str, faces: bool = False, cancel: threading.Event | None = None,
                    on_tick: Callable[[], None] | None = None) -> None:
        """Run ``fn(*args)`` for each (tag, args, workers) job with a bounded window of futures;
        ``handle(tag, result, error)`` is called in this thread as each finishes, in completion
        order, and may return further jobs (a failed chunk's files, to be tried one by one),
        which are submitted before the rest. Memory stays flat: at most ``window_per_thread``
        futures per worker thread exist."""
        from distributed import as_completed

        window = self.window()
        resources = self.resources(faces)
        it: Iterator = iter(jobs)
        again: list = []  # jobs handed back by `handle`, first in first out
        tags: dict[str, Any] = {}
        n = 0

        def submit_next() -> Any | None:
            nonlocal n
            if again:
                tag, args, workers = again.pop(0)
            else:
                try:
                    tag, args, workers = next(it)
                except StopIteration:
                    return None
            n += 1
            fut = self.client.submit(fn, *args, key=self.key(label, n), pure=False, resources=resources,
                                     workers=workers, allow_other_workers=False if workers else None)
            tags[fut.key] = tag
            return fut

        first = [f for f in (submit_next() for _ in range(window)) if f is not None]
        if not first:
            return
        # Results are fetched here, one round trip per task (a task is a chunk of files, so this
        # is cheap), not with as_completed(with_results=True): when a finished task's result is
        # lost with its worker and the recomputation then fails, that variant never yields the
        # future and the run would wait forever (distributed 2026.8).
        ac = as_completed(first)
        for fut in ac:
            if cancel is not None and cancel.is_set():
                for f in list(ac.futures):
                    f.cancel()
                raise Cancelled()
            tag = tags.pop(fut.key)
            result, error = None, None
            try:
                if fut.status == "finished":
                    result = fut.result()
                else:  # KilledWorker, a task error, a lost scheduler
                    error = fut.exception() or RuntimeError(f"task {fut.status}")
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # cancelled (asyncio's CancelledError is a BaseException),
                result, error = None, exc  # or the result was lost and its recomputation failed
            fut.release()
            again.extend(handle(tag, result, error) or ())
            while ac.count() < window:
                nxt = submit_next()
                if nxt is None:
                    break
                ac.add(nxt)
            if on_tick is not None:
                on_tick()


# Dask's self-monitoring, slowed for the clusters this module starts: the event-loop tick
# (every 20 ms), the statistical profiler (every 10 ms), the system and memory monitors and
# work stealing (every 100-500 ms) cost an idle LocalCluster of 2 workers about a tenth of a
# core (2.0 CPU s in 20 s, measured; 0.3 s with these), which on a loaded 2-core machine is
# taken from the files. A lab sets the same in its workers' Dask configuration (docs/scale.md).
QUIET_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,  # tasks are independent and queued on the scheduler
}


def connect(spec: ClusterSpec, faces: bool = False, warmups: tuple[Callable[[], Any], ...] = ()) -> Cluster:
    """Start a LocalCluster or connect to a scheduler, and register the worker plugin that runs
    `warmups` once in every worker process."""
    import dask
    from distributed import Client, LocalCluster

    local = None
    config = {"distributed.scheduler.allowed-failures": 2, **QUIET_CONFIG}
    if spec.local_workers is not None:
        # forkserver: one server process imports distributed once and forks the workers from
        # it (safe from a threaded process, unlike fork); measured at load 12, starting local:2
        # cost 5.3 CPU s and 24 s instead of 7.7 CPU s and 34 s with spawn. (A worker the
        # nanny restarts later is spawned as usual.)
        config["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(config):
        if spec.local_workers is not None:
            local = LocalCluster(n_workers=spec.local_workers, threads_per_worker=1, processes=True,
                                 dashboard_address=None, resources={FACES_RESOURCE: 1},
                                 silence_logs=40)
            client = Client(local)
        else:
            security = None
            if spec.address.startswith("tls://") and spec.tls_ca_file:
                from distributed.security import Security

                security = Security(tls_ca_file=spec.tls_ca_file, tls_client_cert=spec.tls_cert,
                                    tls_client_key=spec.tls_key, require_encryption=True)
            try:
                client = Client(spec.address, security=security, timeout="20s")
            except OSError as exc:
                raise CaseError(f"cannot reach the Dask scheduler at {spec.address}: {exc}") from None
    from distributed.diagnostics.plugin import WorkerPlugin

    plugin = type("ForensicsPlugin", (ForensicsWorkerPlugin, WorkerPlugin), {})(tuple(warmups))
    client.register_plugin(plugin, name=f"forensics-{'faces' if faces else 'ingest'}")
    cluster = Cluster(spec, client, local)
    if not cluster.status()["workers"]:
        try:
            client.wait_for_workers(1, timeout=30)
        except Exception:
            cluster.close()
            raise CaseError(f"the Dask scheduler at {spec.address} has no workers") from None
    return cluster
