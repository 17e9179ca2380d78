"""Ingest on Dask against the local process pool, in one run on the same folder.

Evidence: a folder of generated 1600x1200 camera-like JPEGs (gradients, shapes and noise,
quality 90, about 0.4 MB each), generated once into a cache folder and reused.

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
sending results back. "Writer peak" is the submitting process's peak RSS: the one writer, the client
and (for a LocalCluster) the in-process scheduler; worker processes are not counted. The
writer's memory is also measured on tiny files at 1,000 and 10,000 files on ``local:2`` to
show it stays flat (the window of futures is bounded).

    uv run python bench/cluster.py                      # 1000 photos + the memory runs
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
    have = len(list(dest.glob("*.jpg")))
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:1200, 0:1600].astype(np.float32)
    for i in range(have, n):
        a, b, c = rng.uniform(0.2, 1.0, 3)
        base = np.stack([xx * a / 1600, yy * b / 1200, (xx + yy) * c / 2800], -1) * 255
        img = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
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


def measure(folder: str, mode: str, workdir: str) -> dict:
    """One configuration in this (fresh) process; prints one JSON line."""
    from forensics.case import Case
    from forensics.cluster import spec_from
    from forensics.ingest.records import IngestOptions

    case_dir = Path(workdir) / f"case_{mode.replace(':', '_')}_{os.getpid()}"
    case = Case.create(case_dir, name="bench", number="B-1", examiner="bench", authority="benchmark")
    cluster = spec_from(mode) if mode.startswith("local:") else None
    opts = IngestOptions(workers=1 if mode == "inproc" else 2, faces=False)
    t0 = time.perf_counter()
    s = case.ingest([folder], opts, cluster=cluster)
    wall = time.perf_counter() - t0
    case.close()
    shutil.rmtree(case_dir, ignore_errors=True)
    return {"mode": mode, "files": s.added, "failed": s.failed, "wall": wall, "ingest_seconds": s.seconds,
            "writer_peak_mib": peak_rss_self_mib()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--memory-files", default="1000,10000")
    ap.add_argument("--workdir", default=os.environ.get("FORENSICS_BENCH_DIR", "/work/cache/cluster"))
    ap.add_argument("--measure", nargs=2, metavar=("FOLDER", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1], args.workdir)))
        return 0
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    photos = _photos(work / f"photos_{args.files}", args.files)
    print(f"machine: {machine_line()}")
    print(f"photos: {args.files} x 1600x1200 JPEG in {photos}; load average before: {load_average():.1f}")
    rows, res = [], {}
    for mode in ("pool", "inproc", "local:1", "local:2"):
        r = run_isolated([__file__, "--workdir", str(work), "--measure", str(photos), mode])
        res[mode] = r
        rows.append([mode, f"{r['files']}", f"{r['wall']:.1f}", f"{r['files'] / r['wall']:.1f}",
                     f"{r['files'] / r['ingest_seconds']:.1f}", f"{r['writer_peak_mib']:.0f}"])
        print(f"  {mode}: {r['files'] / r['wall']:.1f} files/s (load {load_average():.1f})", flush=True)
    print(table(rows, ["mode", "files", "wall s", "files/s", "files/s in run", "writer peak MiB"]))
    p1, l1 = res["inproc"], res["local:1"]
    overhead = (l1["ingest_seconds"] - p1["ingest_seconds"]) / max(1, l1["files"]) * 1000
    ratio = res["local:2"]["files"] / res["local:2"]["wall"] / (res["pool"]["files"] / res["pool"]["wall"])
    print(f"per-task overhead of Dask over the pool (local:1 vs inproc, in-run time): {overhead:.1f} ms per file")
    print(f"local:2 / pool files/s: {ratio:.2f} (target >= 0.85)")
    mem_rows = []
    for n in (int(x) for x in args.memory_files.split(",") if x):
        tiny = _tiny(work / f"tiny_{n}", n)
        r = run_isolated([__file__, "--workdir", str(work), "--measure", str(tiny), "local:2"])
        mem_rows.append([f"{n:,}", f"{r['files'] / r['wall']:.1f}", f"{r['writer_peak_mib']:.0f}"])
    print("writer memory on local:2 (tiny files):")
    print(table(mem_rows, ["files", "files/s", "writer peak MiB"]))
    print(f"load average after: {load_average():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
