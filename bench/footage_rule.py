"""Choose the footage track decision rule on the tune clip of bench/footage.py.

Reads a case that `bench/footage.py --case-dir DIR` ingested (both clips), scores every
track of each clip against each searched person's query photo with the packaged
calibration (forensics.faces.track_search.track_evidence), and labels it true when its
span touches one of that person's appearances (the bench's slack). Then, for candidate
rules (a track-level log10 LR a reliable track must reach, as a function of how many
detections the score averages and of their face width), it prints the appearances found
and false spans on the tune part, picks the loosest rule with no false span on tune and
with a margin, and prints the same figures for the held-out part without choosing
anything there.

    uv run python bench/footage_rule.py --case-dir /work/cache/footage/i10/case [--dump rows.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.footage import SLACK, _overlap  # noqa: E402
from bench.footage_synth import build  # noqa: E402


def raw_log10_lr(cal, t, qq):
    """Each detection's log10 LR before the calibration's bounds (for exploring statistics)."""
    import math

    import numpy as np

    a, b = cal._coeffs(np.full(len(t.widths), qq.width_px), t.widths)
    return (a + b * t.distances) / math.log(10.0)


def track_rows(case_dir: Path, people: int = 24, distractors: int = 16, seconds: float = 120.0) -> list[dict]:
    """One row per (part, searched person, track of that part's clip)."""
    import numpy as np

    from forensics.case import Case
    from forensics.faces.calibration import FaceQuality, load_calibration
    from forensics.faces.pipeline import detect_in_image
    from forensics.faces.track_search import gather_tracks, track_evidence

    cal = load_calibration()
    case = Case.open(case_dir, examiner="bench", readonly=True)
    conn = case.store.read
    spans = {r[0]: (r[1], r[2], r[3]) for r in conn.execute("SELECT id, start_time, end_time, video_id FROM face_tracks")}
    video_of = {str(Path(v["path"]).resolve()): v["id"] for v in case.items(kind="video")}
    rows = []
    for part in ("tune", "test"):
        clip, apps = build(part, people, distractors, seconds)
        video = video_of[str(clip.resolve())]
        queries = {a.person: a.query for a in apps if a.query}
        for person, query in queries.items():
            faces = sorted(detect_in_image(Path(query).read_bytes()), key=lambda f: -f.size)
            if not faces:
                continue
            q = faces[0]
            qq = FaceQuality(float(q.size), q.sharpness)
            own = [a for a in apps if a.person == person]
            for t in gather_tracks(conn, q.vector()):
                s0, s1, vid = spans[t.track_id]
                if vid != video:
                    continue
                score, best, m, top, lr = track_evidence(t, cal, qq)
                true = any(_overlap(s0 - SLACK, s1 + SLACK, a.start, a.end) > 0 for a in own)
                rows.append({"part": part, "person": person, "track": t.track_id, "start": s0,
                             "end": s1, "n": len(t.distances), "m": m, "score": round(float(score), 3),
                             "max_lr": round(float(lr.max()), 3), "width": float(np.median(t.widths[top])),
                             "max_width": float(t.widths.max()), "true": bool(true),
                             "lr": [round(float(x), 3) for x in lr], "d": [round(float(x), 4) for x in t.distances],
                             "w": [float(x) for x in t.widths], "q": [round(float(x), 4) for x in t.weights],
                             "raw": [round(float(x), 3) for x in raw_log10_lr(cal, t, qq)]})
    case.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case-dir", type=Path, required=True)
    ap.add_argument("--dump", type=Path, help="write the scored tracks here (JSON); read them back with --rows")
    ap.add_argument("--rows", type=Path, help="scored tracks written earlier with --dump")
    args = ap.parse_args()
    rows = json.loads(args.rows.read_text()) if args.rows else track_rows(args.case_dir)
    if args.dump:
        args.dump.write_text(json.dumps(rows))
    print(f"{len(rows)} (query, track) pairs; true {sum(r['true'] for r in rows)}")


if __name__ == "__main__":
    main()
