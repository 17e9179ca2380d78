"""Per-file workers that misbehave like broken decoders do, for the pool's fault tests.
Module-level so that spawned worker processes can import them."""
from __future__ import annotations

import os
import time

from forensics.ingest.worker import process_file


def crashing_worker(task, options):
    if task.relpath.startswith(b"crash"):
        os._exit(139)  # what a segfault in a C decoder looks like from outside
    return process_file(task, options)


def hanging_worker(task, options):
    if task.relpath.startswith(b"hang"):
        time.sleep(3600)
    return process_file(task, options)


def slow_worker(task, options):
    """A worker that takes a little time per file, so a test can act while files are in flight."""
    time.sleep(0.15)
    return process_file(task, options)


def renaming_worker(task, options):
    """The source's medium goes away while the run is under way (renamed, like an unmount)."""
    if task.relpath == b"f03.bin":
        os.rename(task.root, task.root + b".away")
    return process_file(task, options)


def long_video_worker(task, options):
    """A file that takes longer than the plain limit but reports steady progress, like a
    long video being analysed for faces ("long*"), next to one that hangs ("hang*")."""
    from forensics.ingest import deadline

    if task.relpath.startswith(b"hang"):
        time.sleep(3600)
    if task.relpath.startswith(b"long"):
        start = time.monotonic()
        while time.monotonic() - start < 4.0:
            deadline.progress(1.0 + 4.0 * (time.monotonic() - start))  # 4 media seconds per second
            time.sleep(0.05)
    return process_file(task, options)


def worker_killing_worker(task, options):
    """A file whose processing takes the whole Dask worker down (as the kernel's OOM killer
    does), not only the decoder sandbox it runs in; "crash" files crash the sandbox only."""
    import signal

    if task.relpath.startswith(b"kill"):
        os.kill(os.getppid(), signal.SIGKILL)  # the sandbox's parent is the Dask worker
        os._exit(137)
    return crashing_worker(task, options)


def sandbox_env(name: str) -> str | None:
    """A call for the decoder sandbox: the value of an environment variable there."""
    return os.environ.get(name)


def sandbox_probe(kind: str, n: int) -> tuple[int, int]:
    """A call for the decoder sandbox itself: returns (n, the sandbox's pid), or crashes
    ("crash") or hangs ("hang") the sandbox process."""
    if kind == "crash":
        os._exit(139)
    if kind == "hang":
        time.sleep(3600)
    return n, os.getpid()
