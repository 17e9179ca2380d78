"""Footage benchmark: find every appearance of a person in archived-style footage.

Builds (bench/footage_synth.py, cached) two clips of synthetic archived footage from
../shared/data only: LFW faces 20-50 px wide walking for 2-4 s across the real overhead
crowd of `overhead_crowd.avi`, blurred, noised, H.264 at CRF 32, 10 fps, 1280x720, two
minutes each. The "tune" clip holds one set of people (rules were chosen on it); the
"test" clip holds different people and is the held-out figure. Each searched person is
queried with a different LFW photo of them than the one in the footage; distractor
people appear but are never searched.

For the pipeline (ingest with faces, face-following sampling, search at the default
threshold) and for plain face_recognition (HOG at upsample 1 on one frame per second,
tolerance 0.6), in the same run and on the same 2 worker processes, it prints:
appearances found / total (all, and faces >= 24 px), temporal recall (share of the
appearance time covered by returned spans), false spans (returned spans that overlap no
appearance of the searched person) and seconds of processing per minute of footage. The
pipeline returns hits and leads (marked for review, forensics.faces.track_search): the
main columns score the hits, and one column scores hits and leads together.

With --case-dir the ingested case is kept (with its ingest figures), and --reuse-case
searches it again without ingesting (e.g. after choosing the track rule with
bench/footage_rule.py).

    uv run python bench/footage.py [--people 24] [--distractors 16] [--seconds 120] [--json out.json]
                                   [--case-dir DIR [--reuse-case]] [--skip-baseline]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import cpu_seconds, load_average, machine_line, table  # noqa: E402
from bench.footage_synth import DATA, Appearance, build  # noqa: E402

SLACK = 0.35  # seconds: a span this close to an appearance counts as touching it
BASE_FPS = 1.0  # the plain baseline looks at one frame per second


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def score(apps: list[Appearance], spans: dict[str, list[tuple[float, float]]]) -> dict:
    """Figures for one method on one clip: `spans` maps each searched person to the time
    spans returned for their query photo."""
    targets = [a for a in apps if a.query]
    found = found24 = 0
    total24 = sum(a.size >= 24 for a in targets)
    covered = length = 0.0
    false_spans = 0
    for a in targets:
        mine = spans.get(a.person, [])
        hit = any(_overlap(s0 - SLACK, s1 + SLACK, a.start, a.end) > 0 for s0, s1 in mine)
        found += hit
        if a.size >= 24:
            found24 += hit
            length += a.end - a.start
            # union of the returned spans inside the appearance
            inside = sorted((max(s0, a.start), min(s1, a.end)) for s0, s1 in mine if s1 > a.start and s0 < a.end)
            cur0 = cur1 = None
            for s0, s1 in inside:
                if cur1 is None or s0 > cur1:
                    covered += (cur1 - cur0) if cur1 is not None else 0.0
                    cur0, cur1 = s0, s1
                else:
                    cur1 = max(cur1, s1)
            covered += (cur1 - cur0) if cur1 is not None else 0.0
    people = {a.person for a in targets}
    for person in people:
        own = [a for a in targets if a.person == person]
        for s0, s1 in spans.get(person, []):
            if not any(_overlap(s0 - SLACK, s1 + SLACK, a.start, a.end) > 0 for a in own):
                false_spans += 1
    return {"appearances": len(targets), "found": found, "appearances_24": total24, "found_24": found24,
            "temporal_recall_24": round(covered / length, 3) if length else None, "false_spans": false_spans}


# -- the pipeline ------------------------------------------------------------------
def ingest_case(root: Path, clips: dict[str, Path], workers: int) -> dict:
    """Ingest both clips with faces into a new case at `root`; the ingest figures (also
    kept in root/ingest.json, so a cached case can be searched again without ingesting)."""
    from forensics.case import Case
    from forensics.ingest.records import IngestOptions

    case = Case.create(root, name="Footage bench", number="B-10", examiner="bench",
                       authority="benchmark (synthetic footage)")
    opts = IngestOptions(faces=True, workers=workers)  # default watchdog: it scales with the video's length
    t0, c0 = time.perf_counter(), sum(cpu_seconds())
    summary = case.ingest(list(clips.values()), opts)
    seconds, cpu = time.perf_counter() - t0, sum(cpu_seconds()) - c0
    case.close()
    out = {"ingest_seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "frames_analysed": summary.frames,
           "faces": summary.faces, "options": opts.as_dict(), "load": round(load_average(), 2)}
    (root / "ingest.json").write_text(json.dumps(out, indent=1, default=str))
    return out


def run_pipeline(clips: dict[str, Path], apps: dict[str, list[Appearance]], workers: int,
                 case_dir: Path | None = None, reuse: bool = False) -> dict:
    """Ingest (or, with `reuse`, take the case already ingested at `case_dir`) and search
    every person; `case_dir` None ingests into a temporary folder."""
    import shutil

    from forensics.case import Case

    with tempfile.TemporaryDirectory(prefix="footage-bench-") as tmp:
        root = case_dir or Path(tmp) / "case"
        if reuse and (root / "ingest.json").is_file():
            out: dict = json.loads((root / "ingest.json").read_text())
            out["reused_case"] = str(root)
        else:
            if root.exists():
                shutil.rmtree(root)
            out = ingest_case(root, clips, workers)
        out["parts"] = {}
        case = Case.open(root, examiner="bench")
        by_path = {str(c.resolve()): part for part, c in clips.items()}
        videos = {by_path[str(Path(v["path"]).resolve())]: v["id"] for v in case.items(kind="video")}
        for part, part_apps in apps.items():
            spans: dict[str, list[tuple[float, float]]] = {}
            leads: dict[str, list[tuple[float, float]]] = {}
            queries = {a.person: a.query for a in part_apps if a.query}
            for person, query in queries.items():
                try:
                    res = case.faces.search(image_path=query)
                except Exception as exc:  # a query photo without a detectable face
                    print(f"  query {query}: {exc}", file=sys.stderr)
                    continue
                mine = [m for m in res["matches"] if m["kind"] == "video" and m["item_id"] == videos[part]]
                # hits are the matches not marked as leads; leads (tracks of faces too small for a
                # reliable comparison, or with evidence under the footage hit level) are counted
                # apart: "false spans" are the hits', and hits + leads are scored the same way too
                spans[person] = [(m["start"], m["end"]) for m in mine if not m.get("lead")]
                leads[person] = [(m["start"], m["end"]) for m in mine if m.get("lead")]
                out.setdefault("threshold", res["threshold"])
                out.setdefault("calibration", (res.get("calibration") or {}).get("version"))
                out.setdefault("rule", res.get("track_rule"))
            out["parts"][part] = score(part_apps, spans)
            out["parts"][part]["with_leads"] = score(part_apps, {p: spans.get(p, []) + leads.get(p, []) for p in queries})
        case.close()
    return out


# -- plain face_recognition ----------------------------------------------------------
def _baseline_clip(clip: str) -> tuple[list[tuple[float, list]], float]:
    """(time, encodings) of one frame per second, HOG upsample 1; and CPU-free wall seconds."""
    import av
    import face_recognition

    t0 = time.perf_counter()
    frames = []
    with av.open(clip) as c:
        vs = c.streams.video[0]
        fps = float(vs.average_rate or 10)
        step = max(1, round(fps / BASE_FPS))
        for i, f in enumerate(c.decode(vs)):
            if i % step:
                continue
            rgb = f.to_ndarray(format="rgb24")
            locs = face_recognition.face_locations(rgb, number_of_times_to_upsample=1, model="hog")
            frames.append((i / fps, face_recognition.face_encodings(rgb, locs) if locs else []))
    return frames, time.perf_counter() - t0


def run_baseline(clips: dict[str, Path], apps: dict[str, list[Appearance]], workers: int) -> dict:
    import face_recognition
    import numpy as np

    t0, c0 = time.perf_counter(), sum(cpu_seconds())
    with ProcessPoolExecutor(workers) as pool:
        results = dict(zip(clips, pool.map(_baseline_clip, [str(c) for c in clips.values()])))
    seconds, cpu = time.perf_counter() - t0, sum(cpu_seconds()) - c0
    out: dict = {"ingest_seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "parts": {}}
    for part, part_apps in apps.items():
        frames, _ = results[part]
        spans: dict[str, list[tuple[float, float]]] = {}
        for a in part_apps:
            if not a.query:
                continue
            q = face_recognition.face_encodings(face_recognition.load_image_file(a.query))
            if not q:
                continue
            hits = [t for t, encs in frames if encs and bool(np.any(face_recognition.compare_faces(encs, q[0], 0.6)))]
            merged: list[tuple[float, float]] = []
            for t in hits:  # consecutive matching seconds form one span
                if merged and t - merged[-1][1] <= 1.0 / BASE_FPS + 1e-6:
                    merged[-1] = (merged[-1][0], t)
                else:
                    merged.append((t, t))
            spans[a.person] = merged
        out["parts"][part] = score(part_apps, spans)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=24, help="searched people per part")
    ap.add_argument("--distractors", type=int, default=16, help="unsearched people per part")
    ap.add_argument("--seconds", type=float, default=120.0, help="length of each part's clip")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-pipeline", action="store_true", help="only the plain face_recognition baseline")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--case-dir", type=Path, help="ingest into this case folder (kept; default: a temporary one)")
    ap.add_argument("--reuse-case", action="store_true",
                    help="search the case already ingested at --case-dir instead of ingesting again")
    args = ap.parse_args()
    if not (DATA / "lfw").is_dir():
        raise SystemExit(f"reference data not found at {DATA}")
    clips, apps = {}, {}
    for part in ("tune", "test"):
        clips[part], apps[part] = build(part, args.people, args.distractors, args.seconds)
    minutes = len(clips) * args.seconds / 60
    print(f"machine: {machine_line()}; load before: {load_average():.2f}")
    for part in clips:
        t = [a for a in apps[part] if a.query]
        print(f"{part}: {clips[part]}  {len(t)} searched people, {len(apps[part]) - len(t)} distractors,"
              f" faces 20-50 px, {args.seconds:.0f} s")
    results = {} if args.skip_pipeline else {
        "pipeline": run_pipeline(clips, apps, args.workers, args.case_dir, args.reuse_case)}
    if not args.skip_baseline:
        results["face_recognition 1 fps"] = run_baseline(clips, apps, args.workers)
    rows = []
    for method, r in results.items():
        per_min = r["ingest_seconds"] / minutes
        cpu_min = r["cpu_seconds"] / minutes
        for part in clips:
            p = r["parts"][part]
            rows.append([f"{method} [{part}]", f"{p['found']}/{p['appearances']}", f"{p['found_24']}/{p['appearances_24']}",
                         f"{p['temporal_recall_24']:.2f}" if p["temporal_recall_24"] is not None else "-",
                         str(p["false_spans"]),
                         (f"{p['with_leads']['found_24']}/{p['appearances_24']}, {p['with_leads']['false_spans']},"
                          f" {p['with_leads']['temporal_recall_24']:.2f}" if "with_leads" in p else "-"), f"{per_min:.1f}", f"{cpu_min:.1f}",
                         f"{60 / per_min:.1f}x", f"{60 * args.workers / cpu_min:.1f}x"])
    # Wall time moves with whatever else runs on the machine; CPU time hardly does, and
    # CPU seconds / cores is the wall time on an otherwise idle machine with both clips
    # in parallel.
    print(table(rows, ["method [part]", "found", "found >=24px", "time recall", "false spans",
                       "hits+leads: found >=24px, false, time recall",
                       "wall s/footage min", "CPU s/footage min", "x real time (wall)",
                       f"x real time ({args.workers} idle cores)"]))
    p = results.get("pipeline", {})
    rule = f"threshold {p['threshold']}" if p.get("threshold") is not None else f"calibration {p.get('calibration')} (default rule)"
    print(f"pipeline search: {rule}; {args.workers} workers; load after: {load_average():.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
