"""Ingest throughput and memory: the pipeline against a naive single-process script.

Evidence: (a) a folder of generated 12 MP (4000x3000) phone-like JPEGs (smooth scenes:
gradients, soft shapes, grain and sensor noise, quality 90, 3-5 MB, EXIF make/model/date/
GPS, one in five in portrait orientation 6), generated once in parallel into a cache
folder and reused; (b) the shared videos (../shared/data/video), skipped with a message
when ../shared is absent.

Pipeline: `Case.ingest([folder], IngestOptions(workers=W, faces=False))` into a fresh
case: MD5/SHA-1/SHA-256, type sniffing, EXIF, draft decode, pHash + dHash, blank check,
256 px thumbnail, SQLite writes, all end to end including the spawn pool's start-up.
Baseline: what a naive script does, in one process: read the file, hashlib digests,
exifread, full decode, imagehash.phash on the full-resolution image, thumbnail from
the full image (videos: decode every frame, pHash + thumbnail of one frame per second).

Each configuration runs in its own fresh process, so getrusage peaks do not bleed
between them: "main" is that process's peak RSS, "worker" the peak of its largest
worker. The folder is ingested at N/2 and N files to show the per-worker peak does not
grow with the folder.

    uv run python bench/ingest.py                       # 500 files, 2 workers
    uv run python bench/ingest.py --files 1000 --workers 2 --workdir /data/bench
    uv run python bench/ingest.py --quick               # smoke run, a few files
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SHARED_VIDEO = ROOT / ".." / "shared" / "data" / "video"

from common import (MIB, scratch_case, cpu_seconds, load_average, machine_line, peak_rss_children_mib,  # noqa: E402
                    peak_rss_self_mib, rate, run_isolated, table, timed)

WIDTH, HEIGHT = 4000, 3000
PHONES = (("Apple", "iPhone 13"), ("samsung", "SM-G991B"), ("Google", "Pixel 7"), ("Xiaomi", "2201117TG"))


# -- evidence generation -----------------------------------------------------------
def _exif(seed: int):
    from PIL import Image

    r = random.Random(seed)
    make, model = PHONES[seed % len(PHONES)]
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = make, model
    ex[0x0131] = "bench-ingest"
    stamp = f"2024:{r.randint(1, 12):02d}:{r.randint(1, 28):02d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"
    ex[0x0132] = stamp
    ex[0x0112] = 6 if seed % 5 == 0 else 1  # portrait shots are stored landscape + orientation 6
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = sub[0x9004] = stamp
    sub[0x9011] = "+01:00"
    sub[0x829A] = 1 / r.choice((60, 120, 250, 500))  # exposure time
    sub[0x8827] = r.choice((50, 100, 200, 400))  # ISO
    gps = ex.get_ifd(0x8825)
    lat, lon = r.uniform(35, 60), r.uniform(-10, 25)

    def dms(v: float) -> tuple[float, float, float]:
        d = int(v)
        m = int((v - d) * 60)
        return (float(d), float(m), round(((v - d) * 60 - m) * 60, 4))

    gps[1], gps[2] = "N", dms(lat)
    gps[3], gps[4] = ("E", dms(lon)) if lon >= 0 else ("W", dms(-lon))
    gps[5], gps[6] = 0, round(r.uniform(0, 800), 1)
    return ex


def generate_one(path: str, seed: int, width: int = WIDTH, height: int = HEIGHT) -> int:
    """One smooth generated scene as a quality-90 JPEG with phone-like EXIF; returns its size."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    r = random.Random(seed)
    # Gradients and shapes at 1/4 scale, upscaled bicubic: soft edges like defocused scenes.
    lw, lh = width // 4, height // 4
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    base = np.empty((lh, lw, 3), np.float32)
    for c in range(3):
        a, b, k = rng.uniform(-2, 2, 3)
        base[..., c] = 128 + 60 * np.sin(xx / lw * a * np.pi + k) + 50 * np.cos(yy / lh * b * np.pi)
    small = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(small)
    for _ in range(r.randint(8, 20)):
        x0, y0 = r.randint(-lw // 8, lw), r.randint(-lh // 8, lh)
        x1, y1 = x0 + r.randint(lw // 20, lw // 2), y0 + r.randint(lh // 20, lh // 2)
        col = tuple(r.randint(0, 255) for _ in range(3))
        shape = r.randint(0, 2)
        if shape == 0:
            d.ellipse((x0, y0, x1, y1), fill=col)
        elif shape == 1:
            d.rectangle((x0, y0, x1, y1), fill=col)
        else:
            d.polygon([(x0, y0), (x1, y0 + r.randint(0, lh // 3)), (x0 + r.randint(0, lw // 3), y1)], fill=col)
    img = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    # Grain (texture at 2 px scale) and per-pixel sensor noise: what makes phone JPEGs 3-5 MB.
    grain_sigma = r.uniform(14, 26)
    grain = (rng.standard_normal((height // 2, width // 2), dtype=np.float32) * grain_sigma + 128).clip(0, 255)
    grain = np.asarray(Image.fromarray(grain.astype(np.uint8)).resize((width, height), Image.Resampling.BILINEAR),
                       dtype=np.int16) - 128
    noise = (rng.standard_normal((height, width), dtype=np.float32) * 3).astype(np.int16)
    grain += noise
    img += grain[..., None]
    out = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    tmp = path + ".tmp"
    out.save(tmp, "JPEG", quality=90, exif=_exif(seed))
    os.replace(tmp, path)  # an interrupted generation never leaves a half file in the cache
    return os.path.getsize(path)


def _gen_star(args: tuple[str, int, int, int]) -> int:
    return generate_one(*args)


def ensure_images(cache: Path, count: int, workers: int, width: int = WIDTH, height: int = HEIGHT) -> list[Path]:
    """The first `count` generated JPEGs in `cache`, generating the missing ones in parallel."""
    import concurrent.futures as cf
    import multiprocessing

    cache.mkdir(parents=True, exist_ok=True)
    paths = [cache / f"IMG_{i:05d}.jpg" for i in range(count)]
    missing = [(str(p), i, width, height) for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        print(f"generating {len(missing)} JPEGs of {width}x{height} into {cache} ...", file=sys.stderr, flush=True)
        with timed() as t, cf.ProcessPoolExecutor(max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in pool.map(_gen_star, missing, chunksize=4):
                pass
        print(f"  generated in {t.seconds:.1f} s", file=sys.stderr)
    return paths


def link_set(paths: list[Path], folder: Path) -> Path:
    """A folder holding exactly these files (hard links: no copy, and ingest does not follow symlinks)."""
    if folder.is_dir() and sorted(os.listdir(folder)) == sorted(p.name for p in paths):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for p in paths:
        try:
            os.link(p, folder / p.name)
        except OSError:
            shutil.copy2(p, folder / p.name)
    return folder


# -- measurements, each run in a fresh process ---------------------------------------
def measure_ingest(folder: str, workers: int) -> dict:
    from forensics.ingest.pipeline import IngestOptions

    files = [os.path.join(folder, n) for n in os.listdir(folder)]
    nbytes = sum(os.path.getsize(f) for f in files)
    rss_before = peak_rss_self_mib()
    with scratch_case("bench-ingest-") as case:
        cpu0, load0 = cpu_seconds(), load_average()
        with timed() as t:
            s = case.ingest([folder], IngestOptions(workers=workers, faces=False))
        cpu1 = cpu_seconds()
        errors = case.store.scalar("SELECT count(*) FROM item_errors")
        thumbs = case.store.scalar("SELECT count(*) FROM items WHERE thumb IS NOT NULL")
    return {"files": s.added, "failed": s.failed, "frames": s.frames, "errors": errors, "thumbs": thumbs,
            "bytes": nbytes, "seconds": t.seconds, "main_mib_at_start": rss_before,
            "main_peak_mib": peak_rss_self_mib(), "worker_peak_mib": peak_rss_children_mib(),
            "cpu_main": cpu1[0] - cpu0[0], "cpu_workers": cpu1[1] - cpu0[1], "load": max(load0, load_average())}


def measure_startup(tiny_jpeg: str, workers: int) -> dict:
    """Spawn-pool start-up: time until every worker has imported the pipeline and done one tiny file."""
    from forensics.ingest.pipeline import _pool
    from forensics.ingest.records import FileTask, IngestOptions
    from forensics.ingest.worker import process_file

    task = FileTask(1, tiny_jpeg.encode(), b"")
    opts = IngestOptions(workers=workers)
    with timed() as t:
        pool = _pool(workers)
        futs = [pool.submit(process_file, task, opts) for _ in range(workers * 2)]
        ok = all(f.result().item["status"] == "ok" for f in futs)
    pool.shutdown()
    return {"seconds": t.seconds, "ok": ok, "worker_peak_mib": peak_rss_children_mib()}


def naive_image(path: str) -> None:
    """The naive script: every step on the full-resolution image."""
    import hashlib

    import exifread
    import imagehash
    from PIL import Image

    with open(path, "rb") as f:
        data = f.read()
    _ = [h(data).hexdigest() for h in (hashlib.md5, hashlib.sha1, hashlib.sha256)]
    exifread.process_file(io.BytesIO(data), details=False)
    im = Image.open(io.BytesIO(data))
    im.load()
    im = im.convert("RGB")
    imagehash.phash(im)
    th = im.copy()
    th.thumbnail((256, 256))
    th.save(io.BytesIO(), "JPEG", quality=82)


def naive_video(path: str) -> int:
    """Naive video: digests, decode every frame, pHash + thumbnail of one full frame per second."""
    import hashlib

    import av
    import imagehash

    with open(path, "rb") as f:
        data = f.read()
    _ = [h(data).hexdigest() for h in (hashlib.md5, hashlib.sha1, hashlib.sha256)]
    sampled, next_t = 0, 0.0
    with av.open(path) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= next_t:
                im = frame.to_image()
                imagehash.phash(im)
                th = im.copy()
                th.thumbnail((256, 256))
                th.save(io.BytesIO(), "JPEG", quality=82)
                sampled += 1
                next_t += 1.0
    return sampled


def measure_baseline(files: list[str], video: bool) -> dict:
    import hashlib  # noqa: F401  imports are not the naive script's per-file cost: load them first
    import scipy.fftpack  # noqa: F401  (imagehash.phash imports it on first use)

    import av  # noqa: F401
    import exifread  # noqa: F401
    import imagehash  # noqa: F401

    frames = 0
    cpu0, load0 = cpu_seconds(), load_average()
    with timed() as t:
        for f in files:
            if video:
                frames += naive_video(f)
            else:
                naive_image(f)
    return {"files": len(files), "frames": frames, "bytes": sum(os.path.getsize(f) for f in files),
            "seconds": t.seconds, "main_peak_mib": peak_rss_self_mib(),
            "cpu_main": cpu_seconds()[0] - cpu0[0], "cpu_workers": 0.0, "load": max(load0, load_average())}


def measure_stages(files: list[str]) -> dict[str, float]:
    """CPU milliseconds per file of each step of the image path, in this process (where time goes)."""
    import time

    from forensics.exif import read_exif
    from forensics.hashing.digests import digest_stream
    from forensics.hashing.perceptual import image_hashes, is_blank
    from forensics.ingest.records import FileTask, IngestOptions
    from forensics.ingest.worker import process_file
    from forensics.media.image import open_image, thumbnail_jpeg

    from forensics.copies.keypoints import features as keypoint_features
    from forensics.hashing.windows import probe_hashes

    datas = [Path(f).read_bytes() for f in files]
    decoded = [open_image(d).image for d in datas]
    own = [(h["phash"], h["dhash"]) for h in map(image_hashes, decoded)]
    opts = IngestOptions(workers=1)
    steps = {
        "read + MD5/SHA-1/SHA-256": lambda i: digest_stream(open(files[i], "rb", buffering=0), keep_up_to=1 << 30),
        "EXIF (exifread)": lambda i: read_exif(datas[i]),
        "decode (draft >= 256 px)": lambda i: open_image(datas[i]),
        "pHash + dHash": lambda i: image_hashes(decoded[i]),
        "blank check": lambda i: is_blank(decoded[i]),
        "thumbnail 256 px JPEG": lambda i: thumbnail_jpeg(decoded[i]),
        "probe hashes (trim, 8 windows, middle, turns)": lambda i: probe_hashes(decoded[i], own[i]),
        "(option) ORB keypoints at ingest, draft": lambda i: keypoint_features(decoded[i]),
        "process_file (all of it)": lambda i: process_file(FileTask(1, files[i].encode(), b""), opts),
    }
    full: list = [None] * len(files)

    def naive_decode(i: int) -> None:
        from PIL import Image

        im = Image.open(io.BytesIO(datas[i]))
        im.load()
        full[i] = im.convert("RGB")

    def naive_thumb(i: int) -> None:
        th = full[i].copy()
        th.thumbnail((256, 256))
        th.save(io.BytesIO(), "JPEG", quality=82)

    import imagehash

    steps |= {
        "naive: full decode": naive_decode,
        "naive: imagehash.phash on full image": lambda i: imagehash.phash(full[i]),
        "naive: thumbnail from full image": naive_thumb,
    }
    out = {}
    for name, fn in steps.items():
        fn(0)
        best = float("inf")
        for _ in range(2):  # best of two: other jobs on the machine only ever add time
            t0 = time.process_time()
            for i in range(len(files)):
                fn(i)
            best = min(best, (time.process_time() - t0) / len(files))
        out[name] = 1000 * best
    out |= probe_cost(files, opts)
    return out


def probe_cost(files: list[str], opts, rounds: int = 10) -> dict[str, float]:
    """CPU ms per file of the whole per-file worker with the probe hashes (issue 17) and
    without them (the worker as it was before), interleaved round by round so both see the
    same machine; best of 10 rounds each (other jobs only ever add time)."""
    import time

    import numpy as np

    from forensics.hashing import windows
    from forensics.ingest.records import FileTask
    from forensics.ingest.worker import process_file

    real = windows.probe_hashes
    none = np.zeros((windows.N_SLOTS, 2), np.uint64)
    best = {"with": float("inf"), "without": float("inf")}
    try:
        for _ in range(rounds):
            for label in best:
                windows.probe_hashes = real if label == "with" else (lambda im, own=None: none)
                t0 = time.process_time()
                for f in files:
                    process_file(FileTask(1, f.encode(), b""), opts)
                best[label] = min(best[label], (time.process_time() - t0) / len(files))
    finally:
        windows.probe_hashes = real
    return {"process_file without probes (before issue 17)": 1000 * best["without"],
            "process_file with probes (now)": 1000 * best["with"],
            "probes' share of process_file, %": 100 * (best["with"] / best["without"] - 1)}


# -- the driver ----------------------------------------------------------------------
def _child(args: list[str]) -> dict:
    return run_isolated([str(Path(__file__).resolve()), "--measure", *args])


def _row(label: str, m: dict, workers: str) -> list[str]:
    return [label, workers, f"{m['files']}", f"{m['seconds']:.2f}", f"{rate(m['files'], m['seconds']):.1f}",
            f"{rate(m['bytes'] / MIB, m['seconds']):.1f}", f"{m['main_peak_mib']:.0f}",
            f"{m['worker_peak_mib']:.0f}" if m.get("worker_peak_mib") else "-",
            f"{1000 * m['cpu_main'] / m['files']:.1f}", f"{1000 * m['cpu_workers'] / m['files']:.1f}",
            f"{m['load']:.1f}"]


HEADER = ["run", "workers", "files", "seconds", "files/s", "MiB/s", "main MiB", "worker MiB",
          "CPU ms/file main", "CPU ms/file workers", "load"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=500, help="generated 12 MP JPEGs in the folder (default 500)")
    ap.add_argument("--workers", type=int, default=2, help="ingest worker processes (default 2)")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "forensics-bench"),
                    help="cache for generated evidence (kept and reused between runs)")
    ap.add_argument("--baseline-files", type=int, default=40,
                    help="files the naive baseline processes (it is slow; its rate is per file)")
    ap.add_argument("--no-video", action="store_true", help="skip the shared videos")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 4 files of 3 MP, 2 baseline files, the smallest video")
    ap.add_argument("--json", dest="json_out", help="also write the figures to this file")
    ap.add_argument("--stages-only", action="store_true",
                    help="only the per-step CPU table (one process; meaningful on a shared machine)")
    ap.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)  # internal: one isolated measurement
    a = ap.parse_args()

    if a.measure:
        kind, *rest = a.measure
        if kind == "ingest":
            out = measure_ingest(rest[0], int(rest[1]))
        elif kind == "stages":
            out = measure_stages(rest)
        elif kind == "startup":
            out = measure_startup(rest[0], int(rest[1]))
        else:
            out = measure_baseline(rest, video=(kind == "baseline-video"))
        print(json.dumps(out))
        return 0

    if a.quick:
        a.files, a.baseline_files = min(a.files, 4), min(a.baseline_files, 2)
    half = max(1, a.files // 2)
    work = Path(a.workdir)
    # The smoke run uses 3 MP images: it checks the script end to end, its figures are not quoted.
    width, height = (2000, 1500) if a.quick else (WIDTH, HEIGHT)
    paths = ensure_images(work / f"jpeg_{width}x{height}", a.files, a.workers, width, height)
    sets = {n: link_set(paths[:n], work / f"set_{n}") for n in (half, a.files)}
    tiny = work / "tiny.jpg"
    if not tiny.is_file():
        generate_one(str(tiny), 7, 64, 48)
    for p in paths:  # same page-cache state for every run: figures measure CPU, not the disk
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass

    print(f"machine: {machine_line()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    sizes = [p.stat().st_size for p in paths]
    print(f"images: {len(paths)} x {width}x{height} JPEG, {min(sizes) / MIB:.1f}-{max(sizes) / MIB:.1f} MiB, "
          f"mean {sum(sizes) / len(sizes) / MIB:.2f} MiB, total {sum(sizes) / MIB:.0f} MiB")

    res: dict = {"machine": machine_line(), "argv": sys.argv[1:], "workers": a.workers}
    res["stages"] = _child(["stages", *map(str, paths[: min(len(paths), 2 if a.quick else 10)])])
    if a.stages_only:
        print(f"load average: {load_average():.2f}")
        print(table([[k, f"{v:.2f}"] for k, v in res["stages"].items()], ["image step (one process)", "CPU ms/file"]))
        return 0
    res["startup"] = _child(["startup", str(tiny), str(a.workers)])
    res["ingest_half"] = _child(["ingest", str(sets[half]), str(a.workers)])
    res["ingest_full"] = _child(["ingest", str(sets[a.files]), str(a.workers)])
    res["baseline"] = _child(["baseline", *map(str, paths[: a.baseline_files])])
    rows = [_row(f"pipeline, {half} files", res["ingest_half"], str(a.workers)),
            _row(f"pipeline, {a.files} files", res["ingest_full"], str(a.workers)),
            _row("naive baseline", res["baseline"], "1")]

    videos = sorted([*SHARED_VIDEO.glob("*.mp4"), *SHARED_VIDEO.glob("*.avi")]) if SHARED_VIDEO.is_dir() else []
    if a.quick:  # the smallest video only: the smoke run exercises the path, it does not measure it
        videos = sorted(videos, key=lambda p: p.stat().st_size)[:1]
    if a.no_video:
        print("videos: skipped (--no-video)")
    elif not videos:
        print(f"videos: skipped, {SHARED_VIDEO.resolve()} is absent (the shared data sits beside the checkout)")
    else:
        vdir = link_set(videos, work / "videos") if a.quick else SHARED_VIDEO.resolve()
        res["video"] = _child(["ingest", str(vdir), str(a.workers)])
        res["video_baseline"] = _child(["baseline-video", *map(str, videos)])
        rows += [_row(f"pipeline, {len(videos)} videos", res["video"], str(a.workers)),
                 _row("naive baseline, videos", res["video_baseline"], "1")]

    print()
    print(table(rows, HEADER))
    print()
    print(table([[k, f"{v:.2f}"] for k, v in res["stages"].items()], ["image step (one process)", "CPU ms/file"]))
    full, base = res["ingest_full"], res["baseline"]
    img_rate = rate(full["files"], full["seconds"])
    base_rate = rate(base["files"], base["seconds"])
    net = full["seconds"] - res["startup"]["seconds"]
    steady = f"{full['files'] / net:.1f} files/s" if net > 0 else "n/a (run shorter than start-up)"
    res["images_per_s"], res["baseline_per_s"], res["ratio"] = img_rate, base_rate, img_rate / base_rate
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cpu_per_file = (full["cpu_main"] + full["cpu_workers"]) / full["files"]
    res["cpu_ms_per_file"] = 1000 * cpu_per_file
    base_cpu = base["cpu_main"] / base["files"]
    print()
    print(f"CPU per image: pipeline {1000 * cpu_per_file:.1f} ms (main + workers, start-up included), naive "
          f"{1000 * base_cpu:.1f} ms = {base_cpu / cpu_per_file:.1f}x; on {cores} otherwise idle cores that is "
          f"{cores / cpu_per_file:.0f} images/s (the load column shows how busy the machine was)")
    print(f"pool start-up (spawn {a.workers} workers, imports, first tiny file): {res['startup']['seconds']:.2f} s; "
          f"pipeline excluding it: {steady}")
    print(f"images: pipeline {img_rate:.1f} files/s vs naive {base_rate:.2f} files/s = {img_rate / base_rate:.1f}x "
          f"(targets: >= 50 files/s on 2 cores, >= 10x)")
    print(f"per-worker peak RSS: {res['ingest_half']['worker_peak_mib']:.0f} MiB at {half} files, "
          f"{full['worker_peak_mib']:.0f} MiB at {a.files} files; main process "
          f"{res['ingest_half']['main_peak_mib']:.0f} / {full['main_peak_mib']:.0f} MiB")
    if "video" in res:
        v, vb = res["video"], res["video_baseline"]
        print(f"videos: pipeline {v['frames']} frames sampled in {v['seconds']:.2f} s, naive {vb['frames']} frames "
              f"in {vb['seconds']:.2f} s")
    bad = [k for k in ("ingest_half", "ingest_full", "video") if k in res and (res[k]["failed"] or res[k]["errors"])]
    if bad:
        print(f"WARNING: files recorded with errors in {bad}: the figures are not comparable", file=sys.stderr)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(res, indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
