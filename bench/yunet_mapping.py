"""Fit the mapping from YuNet's face box onto the square box dlib's HOG detector gives.

dlib's 5-point landmark model and ResNet descriptor were trained on HOG's framing, so a
YuNet box is mapped before landmarks are placed (forensics.faces.yunet.to_dlib_box).
This script runs both detectors on the first photo of LFW people (../shared/data/lfw,
a population the tests never score), pairs the boxes by overlap and fits, by least
squares, side = a * width + b * height and the centre's vertical shift. The constants in
forensics/faces/yunet.py come from this run; tests/core/test_faces_detector.py checks
the result on the labelled photos.

    uv run python bench/yunet_mapping.py [--people 400]
"""
from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

import numpy as np

LFW = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lfw"


def pairs(people: int, seed: int = 1) -> np.ndarray:
    """Rows (yunet x, y, w, h, hog left, top, width, height) for faces both detectors found."""
    import face_recognition.api as fr
    from PIL import Image

    from forensics.faces import plausible, yunet

    names = sorted(p.name for p in LFW.iterdir() if p.is_dir())
    random.Random(seed).shuffle(names)
    rows = []
    for name in names[:people]:
        rgb = np.asarray(Image.open(sorted((LFW / name).glob("*.jpg"))[0]).convert("RGB"))
        found = yunet.detect(rgb, 0.6, 8)
        for r in fr.face_detector(rgb, 1):
            hog = (r.left(), r.top(), r.right() + 1, r.bottom() + 1)
            scored = [(plausible._iou(hog, (x, y, x + w, y + h)), (x, y, w, h)) for x, y, w, h, _ in found]
            best = max(scored, default=(0.0, None))
            if best[0] > 0.3:
                rows.append((*best[1], hog[0], hog[1], hog[2] - hog[0], hog[3] - hog[1]))
    return np.asarray(rows, dtype=float)


def fit(rows: np.ndarray) -> dict[str, float]:
    x, y, w, h, hx, hy, hw, hh = rows.T
    side = (hw + hh) / 2
    (a, b), *_ = np.linalg.lstsq(np.stack([w, h], 1), side, rcond=None)
    dy = float(np.median((hy + hh / 2 - (y + h / 2)) / h))
    dx = float(np.median((hx + hw / 2 - (x + w / 2)) / w))
    err = np.stack([w, h], 1) @ (a, b) / side - 1
    return {"pairs": len(rows), "side_w": float(a), "side_h": float(b), "centre_dy": dy, "centre_dx": dx,
            "side_rel_err_sd": float(err.std())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=400)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if not LFW.is_dir():
        raise SystemExit(f"LFW not found at {LFW}")
    for k, v in fit(pairs(args.people)).items():
        print(f"{k:>16}: {v:.4f}" if isinstance(v, float) else f"{k:>16}: {v}")


if __name__ == "__main__":
    main()
