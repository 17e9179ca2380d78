"""Helpers shared by the benchmarks: peak memory, timing, a description of the machine.

Peak memory comes from getrusage, which the kernel keeps for us at no cost:
RUSAGE_SELF is this process's peak resident set; RUSAGE_CHILDREN is the peak of the
largest child process already waited for (on Linux ru_maxrss of RUSAGE_CHILDREN is the
maximum over children, not their sum), so after a process pool has shut down it is the
peak of the hungriest worker. Both are lifetime peaks: measure each configuration in its
own fresh process (see `run_isolated`) when figures must not bleed into each other.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MIB = 1024 * 1024


def peak_rss_self_mib() -> float:
    """Peak resident set of this process so far, MiB. On Linux the kernel's high-water mark
    of this process's own memory (VmHWM): ru_maxrss is carried over from the parent through
    fork and exec, so in a `run_isolated` child it reports at least the benchmark driver's
    peak, not the child's own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def peak_rss_children_mib() -> float:
    """Peak resident set of the largest terminated and waited-for child so far, MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of its waited-for children so far.
    Unlike wall time it hardly moves when other jobs share the machine."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, ch.ru_utime + ch.ru_stime


def load_average() -> float:
    """One-minute load average: how busy the machine was while measuring."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


@dataclass
class Timing:
    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timing]:
    """`with timed() as t: ...` then t.seconds (monotonic wall clock)."""
    t = Timing()
    start = time.perf_counter()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - start


@contextmanager
def scratch_case(prefix: str) -> Iterator:
    """A fresh case in a temporary folder for one measurement, closed and removed after."""
    import tempfile
    from pathlib import Path

    from forensics.case import Case

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        case = Case.create(Path(tmp) / "case", name="bench", number="B-1", examiner="bench", authority="benchmark")
        try:
            yield case
        finally:
            case.close()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    except (ValueError, OSError):
        return 0.0


def machine_line() -> str:
    """One line naming what the figures were measured on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cores} cores ({_cpu_model()}), {_ram_gib():.1f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run_isolated(argv: list[str], timeout: float | None = None) -> dict:
    """Run `python argv...` in a fresh process (so its peak-memory counters start at zero)
    and return the one JSON document it prints last on stdout. Its stderr passes through."""
    proc = subprocess.run([sys.executable, *argv], stdout=subprocess.PIPE, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"measurement {argv} failed with exit code {proc.returncode}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return json.loads(lines[-1])


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table, columns padded, first column left-aligned, the rest right-aligned."""
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def fmt(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), sep, *(fmt(r) for r in rows)])
