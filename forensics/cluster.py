"""Run per-file work on a Dask distributed cluster (a `LocalCluster` or a lab's scheduler).

The case database stays with the submitting process: workers only compute, results stream
back to the one writer. What this module adds over a process pool is what Dask expects
from a well-behaved client:

* an explicit key per task (``pure=False``), so two files that happen to produce the same
  call are never merged into one task; ingest sends small files in chunks, several per task
  (`forensics.ingest.cluster_run`), since each task costs the client and scheduler about as
  much CPU as cataloguing a small photo;
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

import functools
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
    # A run stops with an error (what is committed is kept; a re-run goes on from there) when
    # no worker has been connected for this long, instead of waiting for ever.
    no_workers_timeout: float = 300.0

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
    """The worker-side half of a run. Combined with Dask's WorkerPlugin base class on first
    use (`ForensicsPlugin`, found in this module by name so the plugin pickles by reference),
    so this module imports without distributed."""

    name = "forensics"

    def __init__(self, warmups: tuple[Callable[[], Any], ...]) -> None:
        self.warmups = warmups

    def setup(self, worker: Any) -> None:
        worker_prepare()
        threads = max(1, int(getattr(getattr(worker, "state", None), "nthreads", 1) or 1))
        with _SANDBOX_COND:
            _SANDBOX["warmups"] = self.warmups  # whoever starts a sandbox warms it with these
            # (a second plugin, say for face analysis after an ingest, adds none)
            missing = threads - len(_SANDBOX["pools"]) - len(_SANDBOX["spare"]) - _SANDBOX.get("starting", 0)
            _SANDBOX["starting"] = _SANDBOX.get("starting", 0) + max(0, missing)
        # One decoder sandbox per worker thread (a fresh interpreter that imports the per-file
        # code and loads the models), started in the background: setup runs on the worker's
        # event loop, which meanwhile registers with the scheduler and takes tasks; a thread's
        # first file waits for a sandbox to be ready.
        for _ in range(max(0, missing)):
            threading.Thread(target=_prestart_sandbox, name="forensics-sandbox-start", daemon=True).start()

    def teardown(self, worker: Any) -> None:
        _reset_sandbox(every=True)


@functools.cache
def _plugin_class() -> type:
    from distributed.diagnostics.plugin import WorkerPlugin

    return type("ForensicsPlugin", (ForensicsWorkerPlugin, WorkerPlugin), {"__module__": __name__})


def __getattr__(name: str) -> Any:
    if name == "ForensicsPlugin":  # LocalCluster hands the plugin to its worker processes with pickle
        return _plugin_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# This worker's decoder sandboxes: "pools" by worker thread, "spare" ones started ahead and
# not yet taken by a thread, "starting" how many are being started, "warmups" what each runs
# first, "imported" the modules each has imported (by thread).
_SANDBOX: dict[str, Any] = {"pools": {}, "spare": [], "imported": {}}
_SANDBOX_COND = threading.Condition()


def _new_sandbox():
    """A sandbox: a process pool of one child process, started and warmed before any file is
    timed (a timeout measures the file, not the child's start-up and imports)."""
    import concurrent.futures as cf
    import multiprocessing

    # Dask starts workers as daemonic processes, which multiprocessing forbids to have
    # children. The nanny, not this flag, decides this worker's lifetime, and the
    # sandbox ends itself when this process is gone (`_sandbox_start`).
    multiprocessing.current_process()._config["daemon"] = False
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (its pre-spawn-environ),
    # and a spawned sandbox inherits it. Setting it turns off glibc's dynamic mmap threshold,
    # so every decoded picture's buffer is a fresh mmap: measured here, 200 photos of
    # 1600x1200 took 579,000 page faults and 7.0-7.6 CPU s with it against 8,000 and
    # 5.3-5.5 s without. The sandbox starts with glibc's defaults, as the local pool's
    # workers do; the Dask worker process itself keeps Dask's setting.
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        pool.submit(_sandbox_start, _SANDBOX.get("warmups", ())).result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


def _sandbox_start(warmups: tuple[Callable[[], Any], ...]) -> dict:
    """Runs first in a new sandbox process. A process pool's child does not notice its parent
    dying (it holds its own end of the task queue's pipe), so a sandbox whose Dask worker was
    killed (out of memory, a lost machine, a test killing it by pid) would wait for ever with
    its models in memory: it ends itself once it has been orphaned."""
    import time

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="forensics-sandbox-parent", daemon=True).start()
    return worker_prepare(warmups)


def _prestart_sandbox() -> None:
    try:
        pool = _new_sandbox()
    except Exception:
        pool = None  # the thread that needs it starts one itself and meets the error on its file
    with _SANDBOX_COND:
        _SANDBOX["starting"] -= 1
        if pool is not None:
            _SANDBOX["spare"].append(pool)
        _SANDBOX_COND.notify_all()


def _sandbox_pool():
    """This worker thread's decoder sandbox: a child process that runs the per-file work, so
    a decoder that crashes or hangs takes down only that child and never the Dask worker (a
    worker that dies is rescheduled by Dask, and one that keeps dying while its nanny
    restarts it can leave a cluster with no workers at all). One per thread, so a crash is
    pinned on the file of the thread whose child died, never on another thread's file."""
    me = threading.get_ident()
    with _SANDBOX_COND:
        while True:
            pool = _SANDBOX["pools"].get(me)
            if pool is not None:
                return pool
            if _SANDBOX["spare"]:
                pool = _SANDBOX["pools"][me] = _SANDBOX["spare"].pop()
                return pool
            if not _SANDBOX.get("starting"):
                break
            _SANDBOX_COND.wait()
    pool = _new_sandbox()
    with _SANDBOX_COND:
        _SANDBOX["pools"][me] = pool
    return pool


def _reset_sandbox(every: bool = False) -> None:
    """Kill this thread's sandbox (after a crash or a hang; the next file starts a new one),
    or with `every` all of this worker's (the plugin's teardown)."""
    me = threading.get_ident()
    with _SANDBOX_COND:
        if every:
            pools = [*_SANDBOX["pools"].values(), *_SANDBOX["spare"]]
            _SANDBOX["pools"].clear(), _SANDBOX["spare"].clear(), _SANDBOX["imported"].clear()
        else:
            pools = [p for p in (_SANDBOX["pools"].pop(me, None),) if p is not None]
            _SANDBOX["imported"].pop(me, None)
    for pool in pools:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()  # a hung decoder ignores everything else
        pool.shutdown(wait=False, cancel_futures=True)


def _import(module: str) -> None:
    importlib.import_module(module)


def _ready_pool(fn: Callable, args: tuple) -> Any:
    """This thread's sandbox, with the modules of `fn` and of callables among `args` imported
    (imports are not the file's time)."""
    pool = _sandbox_pool()
    imported = _SANDBOX["imported"].setdefault(threading.get_ident(), set())
    for module in {fn.__module__, *(a.__module__ for a in args if callable(a) and hasattr(a, "__module__"))}:
        if module not in imported:
            pool.submit(_import, module).result()
            imported.add(module)
    return pool


def run_sandboxed(timeout: float, fn: Callable, *args: Any) -> tuple[str, Any]:
    """Run ``fn(*args)`` in this worker thread's sandbox process: ("ok", result), or
    ("crash", None) when the process died, or ("timeout", None) past `timeout` seconds (the
    process is killed)."""
    return next(run_sandboxed_each(timeout, fn, [args]))


def run_sandboxed_each(timeout: float, fn: Callable, arglists: list[tuple]) -> Iterator[tuple[str, Any]]:
    """``run_sandboxed(timeout, fn, *args)`` for each of `arglists`, in order, yielding each
    outcome as it comes. The next call is queued in the sandbox while the current one runs,
    so the sandbox goes straight on to the next file instead of waiting for this worker's
    round trip (pickling a result, the pipe, the next file's arguments). The sandbox is one
    process, so only the call at the head can be running: a crash or hang is that call's,
    and the queued call is submitted again to the new sandbox."""
    import concurrent.futures as cf
    from collections import deque

    queued: deque = deque()  # futures of arglists[head], arglists[head + 1], ...
    head, fresh = 0, False
    while head < len(arglists):
        if not queued:
            pool = _ready_pool(fn, arglists[head])
        while len(queued) < 2 and head + len(queued) < len(arglists):
            try:
                queued.append(pool.submit(fn, *arglists[head + len(queued)]))
            except (cf.process.BrokenProcessPool, RuntimeError):
                break  # the child just died: the head's result says so
        if not queued:  # the sandbox was broken before this file went in: not the file's doing
            _reset_sandbox()
            if not fresh:
                fresh = True
                continue
            yield "crash", None  # a new sandbox broke at once too
            head += 1
            continue
        fresh = False
        outcome, value = "ok", None
        try:
            value = queued.popleft().result(timeout=timeout)
        except cf.process.BrokenProcessPool:
            outcome = "crash"
        except cf.TimeoutError:
            outcome = "timeout"
        if outcome != "ok":
            queued.clear()  # never started: submitted again to the next sandbox
            _reset_sandbox()
        head += 1
        yield outcome, value


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
        watch = _NoWorkersWatch(self, ac, self.spec.no_workers_timeout)
        try:
            self._drain(ac, watch, tags, again, handle, submit_next, window, cancel, on_tick)
        finally:
            watch.stop()

    def _drain(self, ac: Any, watch: "_NoWorkersWatch", tags: dict, again: list, handle: Callable,
               submit_next: Callable, window: int, cancel: threading.Event | None,
               on_tick: Callable[[], None] | None) -> None:
        for fut in ac:
            if watch.lost:
                raise CaseError(watch.lost)
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


class _NoWorkersWatch:
    """Watches a run's cluster from a thread: once no worker has been connected for `timeout`
    seconds it cancels the run's futures (so the loop wakes up) and says why in `lost`."""

    def __init__(self, cluster: Cluster, ac: Any, timeout: float) -> None:
        import time

        self.cluster, self.ac, self.timeout = cluster, ac, timeout
        self.lost = ""
        self._stop = threading.Event()
        self._clock = time.monotonic
        self._thread = threading.Thread(target=self._run, name="dask-no-workers-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        since = None
        while not self._stop.wait(2.0):
            try:
                workers = self.cluster.status()["workers"]
            except Exception:
                workers = 0  # the scheduler itself is unreachable
            now = self._clock()
            since = None if workers else since or now
            if since is not None and now - since >= self.timeout:
                self.lost = (f"no Dask worker connected to {self.cluster.spec.address} for {self.timeout:.0f} s: the run"
                             " stops here; every file committed is kept, and running the ingest again goes on from there")
                for f in list(self.ac.futures):
                    f.cancel()
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


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


def _start_forkserver(modules: tuple[str, ...]) -> None:
    """Start the forkserver LocalCluster workers are forked from, now, with the modules the
    workers need already imported in it (distributed and the tasks' modules, so a forked
    worker imports nothing before its first task). It imports them in its own process while
    this one imports distributed itself, so on two cores the two halves of the start-up
    overlap instead of following each other. Dask's own preload list (its required and
    optional packages, tried in this process first) is replaced by this one."""
    import multiprocessing
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["distributed", *modules])  # no effect once the server is running
    forkserver.ensure_running()


def connect(spec: ClusterSpec, faces: bool = False, warmups: tuple[Callable[[], Any], ...] = (),
            modules: tuple[str, ...] = ()) -> Cluster:
    """Start a LocalCluster or connect to a scheduler, with the worker plugin that runs
    `warmups` once in every worker process (and in every worker that joins later).
    `modules` are the modules the tasks' functions live in: a LocalCluster's workers start
    with them imported."""
    local = None
    config = {"distributed.scheduler.allowed-failures": 2, **QUIET_CONFIG}
    plugin_args = (tuple(warmups),)
    if spec.local_workers is not None:
        # forkserver: one server process imports distributed once and forks the workers from
        # it (safe from a threaded process, unlike fork); measured at load 12, starting local:2
        # cost 5.3 CPU s and 24 s instead of 7.7 CPU s and 34 s with spawn. (A worker the
        # nanny restarts later is spawned as usual.)
        config["distributed.worker.multiprocessing-method"] = "forkserver"
        _start_forkserver(("forensics.cluster", *modules))
    import dask
    import distributed.utils
    from distributed import Client, LocalCluster

    if spec.local_workers is not None:
        distributed.utils._forkserver_preload_set = True  # ours, set above (private flag; harmless if renamed)
    with dask.config.set(config):
        if spec.local_workers is not None:
            # The plugin goes with the workers' start (no extra round trip after it), so each
            # worker's sandbox starts while the worker is still registering.
            local = LocalCluster(n_workers=spec.local_workers, threads_per_worker=1, processes=True,
                                 dashboard_address=None, resources={FACES_RESOURCE: 1},
                                 silence_logs=40, plugins=(_plugin_class()(*plugin_args),))
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
            # a lab's workers are already running: the scheduler sends the plugin to each of
            # them now and to every worker that joins later
            client.register_plugin(_plugin_class()(*plugin_args), name=f"forensics-{'faces' if faces else 'ingest'}")
    cluster = Cluster(spec, client, local)
    if not cluster.status()["workers"]:
        try:
            client.wait_for_workers(1, timeout=30)
        except Exception:
            cluster.close()
            raise CaseError(f"the Dask scheduler at {spec.address} has no workers") from None
    return cluster


class Starting:
    """`connect` in a background thread, so a cluster's start-up (seconds: processes,
    imports, the workers' sandboxes) overlaps the work the submitter does before it needs
    the workers: walking the sources and preparing the writer. `result()` waits for it;
    `close()` closes what it started, whether or not it was used (idempotent)."""

    def __init__(self, spec: ClusterSpec, faces: bool = False, warmups: tuple[Callable[[], Any], ...] = (),
                 modules: tuple[str, ...] = ()) -> None:
        self._cluster: Cluster | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(spec, faces, warmups, modules),
                                        name="dask-cluster-start", daemon=True)
        self._thread.start()

    def _run(self, *args: Any) -> None:
        try:
            self._cluster = connect(*args)
        except BaseException as exc:  # given to whoever asks for the cluster
            self._error = exc

    def result(self) -> Cluster:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._cluster is not None
        return self._cluster

    def close(self) -> None:
        self._thread.join()
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close()
