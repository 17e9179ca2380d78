"""Ingest through a disk image against the same files from a folder, in the same run.

Evidence: a few thousand phone-like JPEGs (bench/ingest.py's generator at 2000x1500:
grain, sensor noise, EXIF; about 1 MB each) in nested folders, made once into a cache
folder: 180 generated scenes, each file made unique by its own JPEG comment segment (so
every file has its own hashes; decoding and hashing cost what a distinct photo costs). The image is a raw GPT disk whose one partition holds an ext4 file
system built from that folder with `mke2fs -d` (no mounting), a few MiB of slack around it:
the layout of a real acquired disk, at least 2 GiB.

Both runs are `Case.ingest(..., IngestOptions(workers=W, faces=False))` into a fresh case,
end to end: discovery (os.scandir vs TSK's directory walk), reading (host file vs pytsk3 over
the raw image), MD5/SHA-1/SHA-256, type, EXIF, decode, pHash/dHash, thumbnails, SQLite. The
image run also re-hashes the whole media once (its acquisition hash), which the folder run
has no counterpart for; it is reported inside the image figures and separately. Each
configuration runs in its own fresh process; folder and image runs alternate so a change in
machine load hits both.

    nice -n 10 uv run python bench/diskimage.py                # 2200 photos, 2 workers
    uv run python bench/diskimage.py --files 60 --quick         # smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import MIB, cpu_seconds, load_average, machine_line, rate, run_isolated, scratch_case, table, timed  # noqa: E402

WIDTH, HEIGHT = 2000, 1500
SECTOR = 512
PART_START = 2048  # sectors: the usual 1 MiB alignment


def build_folder(cache: Path, count: int, workers: int, distinct: int) -> Path:
    """`count` JPEGs under cache/folder-N in nested folders (100 per folder). `distinct`
    scenes are generated (the slow part); every file is made unique by a JPEG comment
    segment after SOI, so each has its own hashes while decoding costs the same."""
    import struct

    from ingest import ensure_images

    photos = ensure_images(cache / f"jpeg-{WIDTH}x{HEIGHT}", min(count, distinct), workers, WIDTH, HEIGHT)
    folder = cache / f"folder-{count}"
    marker = cache / f".{folder.name}.complete"  # beside, not inside: it is not evidence
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    bases = [p.read_bytes() for p in photos]
    for i in range(count):
        d = folder / "DCIM" / f"{100 + i // 100}CAMERA"
        d.mkdir(parents=True, exist_ok=True)
        base = bases[i % len(bases)]
        note = f"forensics bench photo {i}".encode()
        (d / f"IMG_{i:05d}.JPG").write_bytes(base[:2] + b"\xff\xfe" + struct.pack(">H", len(note) + 2) + note + base[2:])
    marker.write_text("")
    return folder


def build_image(cache: Path, folder: Path) -> Path:
    """A raw GPT disk with one ext4 partition made from `folder` by mke2fs -d (no mount)."""
    image = cache / f"{folder.name}.raw"
    if image.exists():
        return image
    data = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    fs_bytes = int(data * 1.12) + (64 << 20)  # room for inodes, journal and directories
    fs_bytes -= fs_bytes % 4096
    total = PART_START * SECTOR + fs_bytes + (2 << 20)
    tmp = image.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with open(tmp, "wb") as f:
        f.truncate(total)
    layout = f"label: gpt\nstart={PART_START}, size={fs_bytes // SECTOR}, type=linux\n"
    subprocess.run(["sfdisk", "-q", str(tmp)], input=layout, text=True, check=True)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-E", f"offset={PART_START * SECTOR}", "-d", str(folder),
                    str(tmp), f"{fs_bytes // 1024}k"], check=True)
    os.replace(tmp, image)
    return image


def measure(source: str, workers: int) -> dict:
    from forensics.ingest.pipeline import IngestOptions

    with scratch_case("bench-diskimage-") as case:
        cpu0, load0 = cpu_seconds(), load_average()
        with timed() as t:
            s = case.ingest([source], IngestOptions(workers=workers, faces=False))
        cpu1 = cpu_seconds()
        nbytes = case.store.scalar("SELECT COALESCE(SUM(size), 0) FROM items WHERE parent_id IS NULL")
        images = case.store.scalar("SELECT COUNT(*) FROM items WHERE kind = 'image' AND phash IS NOT NULL")
        hashed = case.store.read.execute("SELECT media_size FROM source_images").fetchone()
        audit_hash = [json.loads(r[0]) for r in case.store.query(
            "SELECT result FROM audit_log WHERE action = 'source.image_hash'")]
    return {"files": s.added, "failed": s.failed, "images": images, "bytes": nbytes, "seconds": t.seconds,
            "media_bytes": hashed[0] if hashed else 0,
            "media_hash_seconds": audit_hash[0]["seconds"] if audit_hash else 0.0,
            "cpu_main": cpu1[0] - cpu0[0], "cpu_workers": cpu1[1] - cpu0[1], "load": max(load0, load_average())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2200, help="generated JPEGs (default 2200, about 2.2 GB)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="folder/image pairs, alternating (default 2)")
    ap.add_argument("--cache", default="/work/cache/diskimage", help="where generated evidence is kept")
    ap.add_argument("--quick", action="store_true", help="one round, no size check (smoke test)")
    ap.add_argument("--prepare", action="store_true", help="only generate the folder and the image")
    ap.add_argument("--distinct", type=int, default=180, help="distinct generated scenes (default 180)")
    ap.add_argument("--gen-workers", type=int, default=1, help="processes generating JPEGs (default 1)")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)  # internal: SOURCE WORKERS
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]))))
        return 0
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    folder = build_folder(cache, args.files, args.gen_workers, args.distinct)
    image = build_image(cache, folder)
    size = image.stat().st_size
    if args.prepare:
        print(f"{folder}\n{image} ({size / (1 << 30):.2f} GiB)")
        return 0
    if not args.quick and size < 2 << 30:
        print(f"note: image is {size / (1 << 30):.2f} GiB, below the 2 GiB the issue asks for; use more --files",
              file=sys.stderr)
    rows, runs = [], {"folder": [], "image": []}
    for r in range(1 if args.quick else args.rounds):
        for kind, src in (("folder", folder), ("image", image)):
            print(f"round {r + 1}: {kind} ...", file=sys.stderr, flush=True)
            m = run_isolated([__file__, "--measure", str(src), str(args.workers)])
            runs[kind].append(m)
            rows.append([f"{kind} (round {r + 1})", f"{m['files']}", f"{m['seconds']:.1f}",
                         f"{rate(m['files'], m['seconds']):.1f}", f"{rate(m['bytes'] / MIB, m['seconds']):.1f}",
                         f"{m['media_hash_seconds']:.1f}", f"{m['cpu_main']:.0f}/{m['cpu_workers']:.0f}", f"{m['load']:.1f}"])
    best = {k: max(v, key=lambda m: rate(m["files"], m["seconds"])) for k, v in runs.items()}
    ratio = rate(best["image"]["files"], best["image"]["seconds"]) / rate(best["folder"]["files"], best["folder"]["seconds"])
    # Files per CPU-second (main + workers) hardly move with the machine's load, unlike wall time.
    cpu = {k: sum(m["files"] for m in v) / sum(m["cpu_main"] + m["cpu_workers"] for m in v) for k, v in runs.items()}
    cpu_ratio = cpu["image"] / cpu["folder"]
    print(machine_line())
    print(f"evidence: {best['folder']['files']} files, {best['folder']['bytes'] / MIB:,.0f} MiB; "
          f"image {size / (1 << 30):.2f} GiB raw (GPT, ext4), workers {args.workers}")
    print(table(rows, ["run", "files", "seconds", "files/s", "MiB/s", "media hash s", "cpu main/workers", "load"]))
    print(f"image / folder throughput, best wall-clock run of each: {ratio:.2f} (the image run includes hashing"
          f" the whole media in a background thread); files per CPU-second: folder {cpu['folder']:.1f},"
          f" image {cpu['image']:.1f}, ratio {cpu_ratio:.2f} (target >= 0.80)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"runs": runs, "ratio": ratio, "cpu_ratio": cpu_ratio,
                                                   "image_bytes": size}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
