"""Fixed-camera footage: what a static picture, and a person standing still in it, cost.

bench/footage.py composites faces onto a moving crowd, where every base look must search
the whole frame. Archived fixed-camera footage is mostly a static scene that people cross
or stand in. This builds such a clip from ../shared/data only (bench/footage_synth.py's
compositing, noise and H.264 at CRF 32, 10 fps, 1280x720): the first frame of
`overhead_crowd.avi` held still as the scene, one LFW person standing still in it from
start to end, and LFW people walking across it for 2-4 s each at 24-50 px. It runs the
ingest worker's video path (`forensics.ingest.worker.process_file`, faces on, one
process) twice in the same run: with the default sampling, where a base look searches
only the parts of the picture that changed since they were last searched
(forensics.media.change), and with `follow_change_level=-1`, where every block counts as
changed so every base look searches the whole frame (what the sampler did before the
change regions whenever the last look had found a face, as it always has here with
someone standing in view). It prints CPU seconds per footage
minute, the samples taken, and the walkers found (a described face on their path within
their appearance) and the standing person's share of the clip covered.

    uv run python bench/footage_static.py [--seconds 60] [--walkers 10]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load_average, machine_line, table  # noqa: E402
from bench.footage_synth import CACHE, CROWD, DATA, FPS, H, LFW, W, Appearance, _face_box, _people, render  # noqa: E402


def build(seconds: float, walkers: int, seed: int = 11) -> tuple[Path, list[Appearance]]:
    """The clip and its appearances (the first is the standing person), cached."""
    import av
    import numpy as np
    from PIL import Image

    key = hashlib.sha256(json.dumps(["static", 1, seconds, walkers, seed]).encode()).hexdigest()[:12]
    folder = CACHE / f"static-{key}"
    clip, truth = folder / "footage.mp4", folder / "truth.json"
    if clip.is_file() and truth.is_file():
        return clip, [Appearance(**a) for a in json.loads(truth.read_text())]
    _, single = _people(seed)
    rng = random.Random(seed)
    names = []
    for name in single:
        photo = next((LFW / name).glob("*.jpg"))
        if _face_box(np.asarray(Image.open(photo).convert("RGB"))) is not None:
            names.append((name, str(photo)))
        if len(names) > walkers:
            break
    (stand_name, stand_photo), others = names[0], names[1:]
    apps = [Appearance(stand_name, stand_photo, None, 0.0, seconds + 1, 40, 300.0, 200.0, 300.0, 200.0, 0.6)]
    for (name, photo), t in zip(others, np.linspace(2.0, seconds - 5.0, len(others))):
        dur = rng.uniform(2.0, 4.0)
        x0, y0 = rng.uniform(500, W - 100), rng.uniform(80, H - 80)
        ang = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(60, 160) * dur / 3
        x1 = float(np.clip(x0 + dist * np.cos(ang), 40, W - 40))
        y1 = float(np.clip(y0 + dist * np.sin(ang), 40, H - 40))
        start = round(float(t), 2)
        apps.append(Appearance(name, photo, None, start, round(start + dur, 2), rng.randint(24, 50), x0, y0, x1, y1,
                               round(rng.uniform(0.4, 1.1), 2)))
    with av.open(str(CROWD)) as c:
        still = next(c.decode(video=0)).to_ndarray(format="rgb24")
    folder.mkdir(parents=True, exist_ok=True)
    render(apps, [still] * int(seconds * FPS), clip, seed)
    truth.write_text(json.dumps([asdict(a) for a in apps], indent=1))
    return clip, apps


def run(clip: Path, apps: list[Appearance], options: dict) -> dict:
    from forensics.ingest.records import FileTask, IngestOptions
    from forensics.ingest.worker import process_file

    c0 = time.process_time()
    res = process_file(FileTask(1, str(clip).encode(), b""), IngestOptions(faces=True, workers=1, **options))
    cpu = time.process_time() - c0
    faces = [(fr.time, f) for fr in res.frames for f in (fr.faces or [])]

    def on_path(a: Appearance, t: float, f) -> bool:
        u = min(1.0, max(0.0, (t - a.start) / (a.end - a.start)))
        cx, cy = a.x0 + u * (a.x1 - a.x0), a.y0 + u * (a.y1 - a.y0)
        return abs((f.left + f.right) / 2 - cx) < a.size and abs((f.top + f.bottom) / 2 - cy) < a.size

    stand, walkers = apps[0], apps[1:]
    found = sum(any(a.start - 0.3 <= t <= a.end + 0.3 and on_path(a, t, f) for t, f in faces) for a in walkers)
    spans = [(f.seen_from if f.seen_from is not None else t, f.seen_to if f.seen_to is not None else t)
             for t, f in faces if on_path(stand, t, f)]
    covered = (max(s[1] for s in spans) - min(s[0] for s in spans)) if spans else 0.0
    return {"cpu": cpu, "samples": Counter(fr.reason for fr in res.frames), "found": found, "walkers": len(walkers),
            "stand_covered": covered, "described": len(faces), "errors": res.errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--walkers", type=int, default=10)
    args = ap.parse_args()
    if not (DATA / "lfw").is_dir():
        raise SystemExit(f"reference data not found at {DATA}")
    from forensics.faces.detect import load_models

    clip, apps = build(args.seconds, args.walkers)
    load_models()  # outside the timings
    print(f"machine: {machine_line()}; load before: {load_average():.2f}")
    print(f"{clip}: {args.seconds:.0f} s, one person standing all along, {len(apps) - 1} walkers (24-50 px)")
    rows = []
    for name, opts in [("changed parts only (default)", {}), ("whole frame, every base look", {"follow_change_level": -1.0})]:
        r = run(clip, apps, opts)
        s = r["samples"]
        rows.append([name, f"{r['cpu'] / args.seconds * 60:.1f}", str(sum(s.values())),
                     ", ".join(f"{k} {v}" for k, v in sorted(s.items())), f"{r['found']}/{r['walkers']}",
                     f"{r['stand_covered']:.1f} of {args.seconds:.0f} s", str(r["described"])])
        if r["errors"]:
            print(f"  {name}: errors {r['errors']}", file=sys.stderr)
    print(table(rows, ["base looks search", "CPU s / footage min", "samples", "by reason", "walkers found",
                       "standing person covered", "faces described"]))
    print(f"load after: {load_average():.2f}")


if __name__ == "__main__":
    main()
