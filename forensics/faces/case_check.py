"""Testing the calibration on the case's own material.

The calibration was fitted on LFW. A case may depart from it (other cameras, other
populations, children), and a court will ask whether the LRs hold for this material.
The case itself holds pairs whose truth is known without an analyst guessing:

* different people: two faces detected in one photo or one video frame;
* different people, by the analyst: a face rejected from a person, against that
  person's confirmed faces;
* the same person: detections along one video track (the tracker links them by place
  and descriptor distance, so these pairs only test the LR scale up to its link
  distance), and faces an analyst confirmed as one person.

Their LRs are compared with what the calibration's validation on LFW leads one to
expect in the same quality bands: when a case shows significantly more misleading
evidence (one-sided binomial test at 1 %, at least three misleading pairs), it gets a
warning for the workbench and the report. The calibration is never re-fitted silently.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from itertools import combinations

import numpy as np

from forensics.faces.calibration import Calibration, FaceQuality, pair_band
from forensics.faces.detect import embedding_array

MAX_PAIRS_PER_GROUP = 50  # pairs taken from one photo, track or person (spread, not all)
MAX_PAIRS = 20000
ALPHA = 0.01
MIN_MISLEADING = 3


def _spread(pairs: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    if len(pairs) <= n:
        return pairs
    idx = np.linspace(0, len(pairs) - 1, n).round().astype(int)
    return [pairs[i] for i in idx]


def collect_pairs(conn: sqlite3.Connection) -> dict[str, list[tuple[int, int]]]:
    """Face id pairs of known truth, by source: 'same_photo', 'rejected', 'track', 'confirmed'."""
    by_item: dict[int, list[int]] = defaultdict(list)
    by_track: dict[int, list[int]] = defaultdict(list)
    by_person: dict[int, list[int]] = defaultdict(list)
    for fid, item, track, person, link in conn.execute(
            "SELECT id, item_id, track_id, person_id, link FROM faces ORDER BY id"):
        by_item[item].append(fid)
        if track is not None:
            by_track[track].append(fid)
        if person is not None and link == "confirmed":
            by_person[person].append(fid)
    out: dict[str, list[tuple[int, int]]] = {"same_photo": [], "rejected": [], "track": [], "confirmed": []}
    for faces in by_item.values():
        out["same_photo"] += _spread(list(combinations(faces, 2)), MAX_PAIRS_PER_GROUP)
    for fid, pid in conn.execute("SELECT face_id, person_id FROM face_rejections"):
        out["rejected"] += [(fid, x) for x in by_person.get(pid, [])[:MAX_PAIRS_PER_GROUP]]
    for faces in by_track.values():
        # first against the others: pairs spread along the track, not neighbouring frames only
        out["track"] += _spread([(faces[0], x) for x in faces[1:]], MAX_PAIRS_PER_GROUP)
    for faces in by_person.values():
        out["confirmed"] += _spread(list(combinations(faces, 2)), MAX_PAIRS_PER_GROUP)
    return {k: v[:MAX_PAIRS] for k, v in out.items()}


def _score(conn: sqlite3.Connection, pairs: list[tuple[int, int]], cal: Calibration) -> tuple[np.ndarray, list[str]]:
    ids = sorted({f for p in pairs for f in p})
    rows: dict[int, tuple] = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        for fid, emb, size, sharp in conn.execute(
                f"SELECT id, embedding, size, sharpness FROM faces WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            rows[fid] = (embedding_array(emb).astype(np.float64), FaceQuality(float(size or 0), sharp))
    llr, bands = [], []
    for a, b in pairs:
        (va, qa), (vb, qb) = rows[a], rows[b]
        llr.append(float(cal.log10_lr(float(np.linalg.norm(va - vb)), qa, qb)))
        bands.append(pair_band(qa, qb, cal.bands))
    return np.asarray(llr), bands


def _expected(cal: Calibration, bands: list[str], key: str) -> float | None:
    figs = cal.provenance.get("figures", {})
    rates = [figs[b][key] for b in bands if b in figs and key in figs[b]]
    return float(np.mean(rates)) if rates else None


def _compare(llr: np.ndarray, bands: list[str], cal: Calibration, same: bool, label: str) -> dict:
    from scipy.stats import binomtest

    key = "misleading_same" if same else "misleading_different"
    mis = int(np.sum(llr < 0)) if same else int(np.sum(llr > 0))
    n = len(llr)
    exp = _expected(cal, bands, key)
    res = {"pairs": n, "misleading": mis, "rate": round(mis / n, 4) if n else None,
           "expected_rate": None if exp is None else round(exp, 4),
           "median_log10_lr": round(float(np.median(llr)), 2) if n else None, "departs": False}
    if n and exp is not None and mis >= MIN_MISLEADING:
        p = binomtest(mis, n, max(exp, 1e-6), alternative="greater").pvalue
        res["p_value"] = float(f"{p:.3g}")
        res["departs"] = bool(p < ALPHA)
        if res["departs"]:
            what = "same-person" if same else "different-person"
            direction = "score further apart" if same else "score closer"
            res["warning"] = (f"{label}: {mis} of {n} {what} pairs of this case give misleading evidence "
                              f"({100 * mis / n:.1f} %, LFW validation in the same quality bands "
                              f"{100 * exp:.2f} %): this case's {what} pairs {direction} than the calibration's; "
                              f"treat its likelihood ratios with caution")
    return res


def check_case(conn: sqlite3.Connection, cal: Calibration) -> dict:
    """The calibration tested on the case's own pairs of known truth, with warnings."""
    from forensics.faces import lr_metrics

    pairs = collect_pairs(conn)
    out: dict = {"calibration": cal.version, "sources": {}, "warnings": []}
    classes = {"different": ("same_photo", "rejected"), "same": ("track", "confirmed")}
    pooled: dict[str, np.ndarray] = {}
    labels = {"same_photo": "faces together in one photo or frame",
              "rejected": "faces an analyst rejected from a person",
              "track": "detections along one video track", "confirmed": "faces an analyst confirmed as one person"}
    for cls, sources in classes.items():
        parts = []
        for src in sources:
            if not pairs[src]:
                continue
            llr, bands = _score(conn, pairs[src], cal)
            res = _compare(llr, bands, cal, cls == "same", labels[src])
            out["sources"][src] = res
            if res.get("warning"):
                out["warnings"].append(res["warning"])
            parts.append(llr)
        pooled[cls] = np.concatenate(parts) if parts else np.zeros(0)
    if len(pooled["same"]) and len(pooled["different"]):
        out["cllr"] = round(lr_metrics.cllr(pooled["same"], pooled["different"]), 4)
        out["cllr_min"] = round(lr_metrics.cllr_min(pooled["same"], pooled["different"]), 4)
    out["departs"] = bool(out["warnings"])
    return out
