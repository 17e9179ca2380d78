"""Benchmark: export a 10,000-item report (HTML, PDF, CSV); print time and peak memory.

    uv run python bench/report.py [--items 10000] [--dir /tmp/report-bench]

Builds a synthetic case once (a source, N catalogued items with full hashes, EXIF fields,
categories, tags, notes and a unique 256 px JPEG thumbnail each, so the HTML embeds and
the PDF places N distinct images), then exports every format in its own child process
and reads that process's peak resident set size (ru_maxrss), so one format's memory does
not hide another's. The figure to watch is how peak memory grows with N: HTML and CSV
stream in batches and stay flat; the PDF keeps finished pages until reportlab saves.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _thumb(i: int) -> bytes:
    """A unique, photo-sized (10-20 KB) JPEG: a gradient with shapes, seeded by the item."""
    import io

    from PIL import Image, ImageDraw

    rng = random.Random(i)
    w, h = 256, rng.choice((170, 192, 256))
    a, b = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(2)]
    im = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    im = Image.composite(Image.new("RGB", (w, h), a), Image.new("RGB", (w, h), b), im.convert("L"))
    d = ImageDraw.Draw(im)
    for _ in range(12):
        x, y = rng.randrange(w), rng.randrange(h)
        d.ellipse((x, y, x + rng.randrange(10, 80), y + rng.randrange(10, 80)),
                  fill=tuple(rng.randrange(256) for _ in range(3)))
    d.text((8, 8), f"item {i}", fill=(255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=82)
    return buf.getvalue()


def build(case_dir: Path, n: int) -> None:
    from forensics import audit
    from forensics.clock import utc_now
    from forensics.case import Case

    if (case_dir / "case.sqlite").exists():
        return
    t0 = time.monotonic()
    case = Case.create(case_dir, name="Report benchmark", number="BENCH-1", examiner="Bench",
                       authority="Benchmark: synthetic data")
    sid = case.add_source(str(case_dir.parent / "evidence"))
    now = utc_now()
    rows, thumbs = [], []
    for i in range(1, n + 1):
        data = f"item-{i}".encode()
        rel = f"DCIM/{100 + i // 1000:03d}APPLE/IMG_{i:05d}.JPG"
        thumb = _thumb(i)
        th = hashlib.sha256(thumb).hexdigest()
        tp = f"{th[:2]}/{th}.jpg"
        thumbs.append((tp, thumb))
        rows.append((i, "image", sid, rel, rel.encode(), 2_000_000 + i, now, now, hashlib.md5(data).hexdigest(),
                     hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest(), "image/jpeg", 4032, 3024, 1,
                     "2024:05:01 10:00:00", "Apple", "iPhone 12", 51.5 + i / 1e5, -0.12, 20.0,
                     random.Random(i).getrandbits(63), random.Random(-i).getrandbits(63), tp, now,
                     i % 10 if i % 3 == 0 else None, 1, f"note for item {i}" if i % 7 == 0 else None))
    for tp, data in thumbs:
        p = case.thumbs_dir / tp
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    with case.store.write() as w:
        w.executemany(
            "INSERT INTO items (id, kind, source_id, relpath, relpath_raw, size, mtime_utc, ctime_utc, md5, sha1,"
            " sha256, mime, width, height, orientation, taken_time, camera_make, camera_model, gps_lat, gps_lon,"
            " gps_alt, phash, dhash, thumb, ingested_utc, category, bookmarked, note)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        w.execute("INSERT INTO tags (name) VALUES ('bench')")
        w.execute("INSERT INTO item_tags (item_id, tag_id) SELECT id, 1 FROM items WHERE id % 2 = 0")
        case.audit(w, "bench.populate", {"items": n}, {})
    case.close()
    print(f"built {n} items in {time.monotonic() - t0:.1f} s at {case_dir}", file=sys.stderr)


def child(case_dir: str, fmt: str, out: str) -> None:
    from forensics.case import Case

    case = Case.open(case_dir)
    case.stats()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    res = case.reports.export(out, fmt=fmt, selection="bookmarked")
    secs = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"format": fmt, "items": res["items"], "seconds": round(secs, 1),
                      "items_per_s": round(res["items"] / secs), "bytes": res["bytes"],
                      "rss_before_mib": round(base / 1024), "peak_rss_mib": round(peak / 1024)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--dir", default="/tmp/forensics-report-bench")
    ap.add_argument("--formats", default="csv,html,pdf")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "FMT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    root = Path(args.dir) / f"n{args.items}"
    root.mkdir(parents=True, exist_ok=True)
    build(root / "case", args.items)
    print(f"report export, {args.items} items, selection bookmarked, python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{'format':6} {'items':>6} {'seconds':>8} {'items/s':>8} {'size MiB':>9} {'RSS before':>11} {'peak RSS':>9}")
    for fmt in args.formats.split(","):
        out = root / f"report.{fmt}"
        r = subprocess.run([sys.executable, __file__, "--child", str(root / "case"), fmt, str(out)],
                           capture_output=True, text=True, check=True)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"{fmt:6} {d['items']:>6} {d['seconds']:>8} {d['items_per_s']:>8} {d['bytes'] / 2**20:>9.1f}"
              f" {d['rss_before_mib']:>8} MiB {d['peak_rss_mib']:>5} MiB")


if __name__ == "__main__":
    main()
