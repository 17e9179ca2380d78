"""Is a detection a face? The rule that keeps non-faces out of the people view.

Detectors fire on face-like patterns: HOG on the round mission patch of the sample
astronaut's suit, YuNet (at low confidence) on chandeliers, hands and the tiny heads of a
crowd. Two checks, both cheap:

- A second opinion from YuNet. Its confidence separates faces from face-like patterns
  far better than HOG's score (on ../shared/data every real face scores >= 0.89 at
  photo sizes, >= 0.8 at 20-48 px in degraded frames; the astronaut's patch gives no
  YuNet detection at all). YuNet detections carry their own confidence (cut by the
  `min_confidence` option); a HOG detection is re-checked by running YuNet on its crop.
- Landmark geometry. dlib's shape regressor places its 5 points on anything, but on a
  non-face they need not form a face: the eyes too close or far for the box, the nose
  not below the eyes. The bounds are wide (real faces on ../shared/data span eyes
  0.30-0.49 of the box, nose 0.54-0.99 eye distances below the eye line, nose at most
  0.37 eye distances to the side) so turned and small faces pass.
"""
from __future__ import annotations

import numpy as np

EYES = (0.22, 0.7)  # interocular distance / box side
NOSE_DOWN = (0.3, 1.5)  # nose below the eye line, in interocular distances
NOSE_SIDE = 0.75  # |nose offset along the eye line| in interocular distances
CONFIRM_CONFIDENCE = 0.7  # YuNet confidence that confirms a HOG detection (the patch: < 0.5)
CONFIRM_IOU = 0.5  # ...with a box this close to HOG's (the patch's best: 0.36)
CONFIRM_SIDE = 96  # the HOG crop is scaled so the box is about this wide for YuNet


def geometry(points: np.ndarray, side: float) -> dict[str, float]:
    """Face geometry from dlib's 5 points (two corners per eye, nose base) on a box of `side` px."""
    eye_a = points[0:2].mean(axis=0)
    eye_b = points[2:4].mean(axis=0)
    rel = points[4] - (eye_a + eye_b) / 2
    axis = eye_b - eye_a
    d = float(np.hypot(*axis)) or 1e-6
    u = axis / d
    n = np.array([-u[1], u[0]])
    return {"eyes": d / max(side, 1e-6), "nose_down": float(abs(rel @ n)) / d, "nose_side": float(rel @ u) / d}


def face_geometry(points: np.ndarray, side: float) -> bool:
    """True when the 5 landmarks on a box of `side` pixels are arranged like a face."""
    g = geometry(points, side)
    return (EYES[0] <= g["eyes"] <= EYES[1] and NOSE_DOWN[0] <= g["nose_down"] <= NOSE_DOWN[1]
            and abs(g["nose_side"]) <= NOSE_SIDE)


def yunet_confirms(rgb: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """True when YuNet, run on the neighbourhood of a (left, top, right, bottom) box
    scaled to a size it handles well, finds a face overlapping the box."""
    from PIL import Image

    from forensics.faces import yunet

    left, top, right, bottom = box
    side = max(right - left, bottom - top, 1)
    m = side // 2
    x0, y0 = max(0, left - m), max(0, top - m)
    x1, y1 = min(rgb.shape[1], right + m), min(rgb.shape[0], bottom + m)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return False
    s = CONFIRM_SIDE / side
    crop = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    crop = crop.resize((max(16, round((x1 - x0) * s)), max(16, round((y1 - y0) * s))), Image.Resampling.BILINEAR)
    for x, y, w, h, _ in yunet.detect(np.asarray(crop), CONFIRM_CONFIDENCE, 8):
        bx, by, bs, _ = yunet.to_dlib_box(x / s + x0, y / s + y0, w / s, h / s)
        if _iou((bx, by, bx + bs, by + bs), (left, top, right, bottom)) >= CONFIRM_IOU:
            return True
    return False


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
