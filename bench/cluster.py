"""Ingest on Dask against the local process pool, in one run on the same folder.

Evidence: a folder of generated 1600x1200 camera-like JPEGs (gradients, shapes and noise,
quality 90, about 0.45 MB each), generated once into a cache folder and reused; each photo
has its own seed, so a larger folder can start from a smaller one's photos.

Each configuration ingests the whole folder into a fresh case (faces off, so the figures
are the per-file pipeline and the distribution, not the face model), in its own fresh
process so peak-memory counters start at zero:

* ``pool``: today's default, a local spawn process pool with 2 workers;
* ``inproc``: the same per-file function in the submitting process (``workers=1``, no
  executor at all: the reference for per-task overhead);
* ``local:1`` and ``local:2``: a Dask LocalCluster of 1 or 2 worker processes
  (threads_per_worker=1), cluster start-up included in the wall time.

Per-task overhead is the extra time per file of ``local:1`` over ``inproc``, measured inside
the run (after cluster start-up): submitting, pickling, scheduling, the sandbox hop and
sending results back. "Writer peak" is the submitting process's own peak RSS (VmHWM): the one
writer, the client and (for a LocalCluster) the in-process scheduler; worker processes are
not counted. The writer's memory is also measured on tiny files at 1,000 and 10,000 files on
``local:2``, with the pool as the baseline, to show it stays flat (the window of futures is
bounded).

Besides files/s and CPU ms per file, whole run and steady state (from a tenth of the files
committed), each row gives the time to the first file committed, start-up in seconds and in
CPU seconds (the run less its files at the steady rate), and CPU by role: the submitter, Dask's
own processes (forkserver, workers) and the compute processes (pool workers or the Dask
workers' decoder sandboxes). From the start-up costs and steady rates it prints the run size
from which ``local:N`` reaches 0.85 of the pool's rate end to end.

    uv run python bench/cluster.py                      # 1000 photos + the memory runs
    uv run python bench/cluster.py --files 1000,5000 --modes pool,local:1,local:2   # two sizes
    uv run python bench/cluster.py --files 300 --memory-files 500,2000   # quicker
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import load_average, machine_line, peak_rss_self_mib, run_isolated, table  # noqa: E402


def _photos(dest: Path, n: int) -> Path:
    import numpy as np
    from PIL import Image

    dest.mkdir(parents=True, exist_ok=True)
    have = {p.name for p in dest.glob("*.jpg")}
    yy, xx = np.mgrid[0:1200, 0:1600].astype(np.float32)
    # sensor noise: one field, cut at a different offset for each photo (drawing fresh noise
    # for every photo made generating thousands of them take longer than ingesting them)
    noise = np.random.default_rng(11).normal(0, 8, (1456, 1856, 3)).astype(np.float32)
    for i in range(n):
        if f"IMG_{i:05d}.jpg" in have:
            continue
        rng = np.random.default_rng((11, i))  # one seed per photo: a folder can be grown or shared
        a, b, c = rng.uniform(0.2, 1.0, 3)
        base = np.stack([xx * a / 1600, yy * b / 1200, (xx + yy) * c / 2800], -1) * 255
        oy, ox = rng.integers(0, 256, 2)
        img = np.clip(base + noise[oy:oy + 1200, ox:ox + 1600], 0, 255).astype(np.uint8)
        x0, y0 = rng.integers(0, 1200), rng.integers(0, 900)
        img[y0:y0 + 300, x0:x0 + 400] = rng.integers(0, 255, 3)
        Image.fromarray(img).save(dest / f"IMG_{i:05d}.jpg", quality=90)
    return dest


def _tiny(dest: Path, n: int) -> Path:
    import numpy as np
    from PIL import Image

    dest.mkdir(parents=True, exist_ok=True)
    have = len(list(dest.rglob("*.png")))
    rng = np.random.default_rng(5)
    for i in range(have, n):
        sub = dest / f"d{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(sub / f"t{i:06d}.png")
    return dest


class TreeCPU:
    """CPU seconds (user + system) of this process and every descendant (pool workers, Dask
    nannies, workers and their decoder sandboxes), sampled every 0.1 s by psutil so processes
    that end before the run does are still counted (to within one sample)."""

    def __init__(self) -> None:
        import threading

        import psutil

        self._me = psutil.Process()
        t = self._me.cpu_times()
        self._start = t.user + t.system  # imports and case creation are not the run's
        self._seen: dict[int, tuple[bool, float]] = {}  # pid -> (a compute process?, CPU s)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _sample(self) -> None:
        import psutil

        for p in self._me.children(recursive=True):
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    # asked again until it says so: a process just forked for exec still shows
                    # its parent's command line
                    compute = (p.pid in self._seen and self._seen[p.pid][0]) or _spawned(p)
                    self._seen[p.pid] = (compute, t.user + t.system)
            except psutil.Error:
                pass

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def now(self) -> tuple[float, float]:
        """(this process's CPU s, its descendants' CPU s) so far in the run."""
        self._sample()
        t = self._me.cpu_times()
        return t.user + t.system - self._start, sum(c for _, c in self._seen.values())

    def compute(self) -> float:
        """CPU s of the processes that run the per-file work: the pool's workers, or the Dask
        workers' decoder sandboxes (both started by multiprocessing's spawn); the rest of
        the descendants are Dask's forkserver, nannies' workers and resource trackers."""
        return sum(c for compute, c in self._seen.values() if compute)

    def stop(self) -> tuple[float, float]:
        """(this process's CPU s, its descendants' CPU s)."""
        self._sample()
        self._stop.set()
        self._t.join()
        t = self._me.cpu_times()
        return t.user + t.system - self._start, sum(c for _, c in self._seen.values())


def _spawned(p) -> bool:
    import psutil

    try:
        return "--multiprocessing-fork" in p.cmdline()
    except psutil.Error:
        return False


def _spec(mode: str):
    """``local:2`` or ``local:2/perfile`` (one Dask task per file, the design before chunks)."""
    import dataclasses

    from forensics.cluster import spec_from

    if not mode.startswith("local:"):
        return None
    address, _, variant = mode.partition("/")
    spec = spec_from(address)
    return dataclasses.replace(spec, chunk_files=1) if variant == "perfile" else spec


def measure(folder: str, mode: str, workdir: str) -> dict:
    """One configuration in this (fresh) process; prints one JSON line. Besides the whole
    run it times the steady state: from the moment a tenth of the files are committed (the
    executor is started and warm) to the end, with the CPU seconds spent in that span."""
    from forensics.case import Case
    from forensics.ingest.records import IngestOptions

    case_dir = Path(workdir) / f"case_{mode.replace(':', '_').replace('/', '_')}_{os.getpid()}"
    case = Case.create(case_dir, name="bench", number="B-1", examiner="bench", authority="benchmark")
    opts = IngestOptions(workers=1 if mode == "inproc" else 2, faces=False)
    cpu = TreeCPU()
    mark: dict = {}

    def progress(p) -> None:
        if "first" not in mark and p.done >= 1:
            mark["first"] = time.perf_counter() - t0
        if "t" not in mark and p.total and p.done >= max(1, p.total // 10):
            mark.update(t=time.perf_counter(), done=p.done, cpu=sum(cpu.now()))

    t0 = time.perf_counter()
    s = case.ingest([folder], opts, progress=progress, cluster=_spec(mode))
    wall = time.perf_counter() - t0
    cpu_main, cpu_children = cpu.stop()
    cpu_compute = cpu.compute()
    case.close()
    shutil.rmtree(case_dir, ignore_errors=True)
    steady_files = s.added - mark.get("done", 0)
    steady_s = t0 + wall - mark.get("t", t0)
    return {"mode": mode, "files": s.added, "failed": s.failed, "wall": wall, "ingest_seconds": s.seconds,
            "writer_peak_mib": peak_rss_self_mib(), "cpu_main": cpu_main, "cpu_children": cpu_children,
            "cpu_compute": cpu_compute, "first_s": mark.get("first", wall),
            "steady_files": steady_files, "steady_s": steady_s,
            "steady_cpu": cpu_main + cpu_children - mark.get("cpu", 0.0), "load": load_average()}


def _row(r: dict) -> list[str]:
    n = max(1, r["files"])
    cpu = r["cpu_main"] + r["cpu_children"]
    steady_rate = r["steady_files"] / r["steady_s"]
    steady_cpu = r["steady_cpu"] / max(1, r["steady_files"])
    # what start-up cost, against running every file at the steady rate
    lost_s, lost_cpu = r["wall"] - r["files"] / steady_rate, cpu - r["files"] * steady_cpu
    return [r["mode"], f"{r['files']}", f"{r['wall']:.1f}", f"{r['files'] / r['wall']:.1f}", f"{steady_rate:.1f}",
            f"{r['first_s']:.1f}", f"{lost_s:.1f}", f"{r['cpu_main']:.1f}", f"{r['cpu_children'] - r['cpu_compute']:.1f}",
            f"{r['cpu_compute']:.1f}", f"{cpu / n * 1000:.1f}", f"{steady_cpu * 1000:.1f}", f"{lost_cpu:.1f}",
            f"{r['writer_peak_mib']:.0f}", f"{r['load']:.1f}"]


HEADER = ["mode", "files", "wall s", "files/s", "steady files/s", "first file s", "start-up s", "CPU s submitter",
          "CPU s Dask procs", "CPU s compute", "CPU ms/file", "steady CPU ms/file", "start-up CPU s",
          "writer peak MiB", "load"]


def _ratios(res: dict) -> list[str]:
    def steady(m: str) -> tuple[float, float]:
        r = res[m]
        return r["steady_s"] / max(1, r["steady_files"]), r["steady_cpu"] / max(1, r["steady_files"])

    lines = []
    if "inproc" in res:
        for m in (m for m in res if m.startswith("local:")):
            (w1, c1), (w0, c0) = steady(m), steady("inproc")
            lines.append(f"per-task overhead of {m} over the in-process function, steady state: "
                         f"{(c1 - c0) * 1000:.1f} CPU ms per file ({(w1 * int(m[6]) - w0) * 1000:.1f} ms of worker wall time)")
    if "pool" in res:
        p = res["pool"]
        for m in (m for m in res if m.startswith("local:")):
            r = res[m]
            lines.append(
                f"{m} / pool: files/s {r['files'] / r['wall'] / (p['files'] / p['wall']):.2f} end to end, "
                f"{steady('pool')[0] / steady(m)[0]:.2f} steady; files per CPU-second "
                f"{(p['cpu_main'] + p['cpu_children']) / (r['cpu_main'] + r['cpu_children']) * r['files'] / p['files']:.2f}"
                f" end to end, {steady('pool')[1] / steady(m)[1]:.2f} steady (target >= 0.85)")
            lines.append(f"  {m} reaches 0.85 of the pool end to end from {_break_even(p, r, 'wall')} files (files/s), "
                         f"{_break_even(p, r, 'cpu')} files (files per CPU-second), at these start-up costs and steady rates")
    return lines


def _break_even(pool: dict, other: dict, what: str) -> str:
    """The run size from which `other` takes at most 1/0.85 of the pool's time (or CPU), if
    each run costs its start-up plus its files at its steady rate: solves
    pool_start + n * pool_per_file = 0.85 * (other_start + n * other_per_file)."""
    def model(r: dict) -> tuple[float, float]:
        if what == "wall":
            per = r["steady_s"] / max(1, r["steady_files"])
            return r["wall"] - r["files"] * per, per
        per = r["steady_cpu"] / max(1, r["steady_files"])
        return r["cpu_main"] + r["cpu_children"] - r["files"] * per, per

    (sp, pp), (so, po) = model(pool), model(other)
    if 0.85 * po >= pp:  # steady too slow: never
        return "no run size (the steady rate is below 0.85)"
    n = (0.85 * so - sp) / (pp - 0.85 * po)
    return f"{max(0, int(-(-n // 1))):,}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", default="1000", help="photos per run; several sizes: 1000,5000")
    ap.add_argument("--memory-files", default="1000,10000")
    ap.add_argument("--memory-modes", default="pool,local:2", help="the pool is the baseline")
    ap.add_argument("--modes", default="pool,inproc,local:1,local:2,local:2/perfile")
    ap.add_argument("--workdir", default=os.environ.get("FORENSICS_BENCH_DIR", "/work/cache/cluster"))
    ap.add_argument("--measure", nargs=2, metavar=("FOLDER", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1], args.workdir)))
        return 0
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine_line()}")
    print(f"command: {' '.join(sys.argv)}; started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for n in (int(x) for x in args.files.split(",") if x):
        photos = _photos(work / f"photos_{n}", n)
        print(f"photos: {n} x 1600x1200 JPEG in {photos}; load average before: {load_average():.1f}")
        rows, res = [], {}
        for mode in args.modes.split(","):
            r = run_isolated([__file__, "--workdir", str(work), "--measure", str(photos), mode])
            res[mode] = r
            rows.append(_row(r))
            print("  " + ", ".join(f"{h} {v}" for h, v in zip(HEADER, _row(r))), flush=True)
        print(table(rows, HEADER))
        print("\n".join(_ratios(res)), flush=True)
    if args.files:
        print("steady: from a tenth of the files committed to the end (executor started and warm); start-up s and CPU s:")
        print("the whole run less its files at the steady rate. CPU (user + system): the submitting process (writer, and")
        print("for Dask the client and scheduler); Dask procs: forkserver, workers, resource trackers; compute: the")
        print("processes that run the per-file work (pool workers; the Dask workers' decoder sandboxes)")
    mem_rows = []
    for n in (int(x) for x in args.memory_files.split(",") if x):
        tiny = _tiny(work / f"tiny_{n}", n)
        for mode in args.memory_modes.split(","):
            r = run_isolated([__file__, "--workdir", str(work), "--measure", str(tiny), mode])
            mem_rows.append([mode, f"{n:,}", f"{r['files'] / r['wall']:.1f}", f"{r['steady_files'] / r['steady_s']:.1f}",
                             f"{(r['cpu_main'] + r['cpu_children']) / max(1, r['files']) * 1000:.1f}",
                             f"{r['writer_peak_mib']:.0f}"])
            print(f"  memory run {mode} {n:,}: writer peak {r['writer_peak_mib']:.0f} MiB", flush=True)
    if mem_rows:
        print("writer (submitting process) peak memory, its own (VmHWM), on tiny files:")
        print(table(mem_rows, ["mode", "files", "files/s", "steady files/s", "CPU ms/file", "writer peak MiB"]))
    print(f"load average after: {load_average():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
