"""Video tracks scored on every detection they hold, weighted by quality."""
from __future__ import annotations

import numpy as np
import pytest

from forensics.faces.detect import FaceRecord
from forensics.faces.pipeline import finish_video, write_faces
from forensics.faces.track_search import search_tracks, track_distance
from tests.core.test_faces_pipeline import add_item, new_case


def _face(vec: np.ndarray, size: int, sharp: float, box=(10, 60, 60, 10)) -> FaceRecord:
    return FaceRecord(top=box[0], right=box[1], bottom=box[2], left=box[3], det_score=0.9, size=size,
                      sharpness=sharp, low_quality=size < 40, embedding=np.asarray(vec, "<f4").tobytes(),
                      model="test", thumb_jpeg=b"\xff\xd8jpeg")


def test_track_distance_keeps_the_closest_sqrt_n_weighted_by_quality():
    d = np.array([0.7, 0.4, 0.72, 0.45, 0.8, 0.9, 0.75, 0.71, 0.66])  # 9 detections: the best 3 count
    w = np.ones(9)
    score, best, m = track_distance(d, w)
    assert m == 3 and best == 1 and score == pytest.approx((0.4 + 0.45 + 0.66) / 3)
    w[8] = 0.01  # the third-closest is a tiny blurred face: it barely counts
    score, _, _ = track_distance(d, w)
    assert score == pytest.approx((0.4 + 0.45 + 0.66 * 0.01) / 2.01)
    assert track_distance(np.array([0.5]), np.array([0.0]))[0] == pytest.approx(0.5)


def _query_and_direction(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A unit query vector and a unit direction orthogonal to it."""
    rng = np.random.default_rng(seed)
    query = rng.normal(size=128)
    query /= np.linalg.norm(query)
    u = rng.normal(size=128)
    u -= (u @ query) * query
    return query, u / np.linalg.norm(u)


def _video_track(case, vectors: list[np.ndarray], sizes: list[int]) -> None:
    """One video whose frames (every 0.2 s) hold one face each, linked into tracks."""
    with case.store.write() as w:
        video = add_item(w, "video")
        for i, (vec, size) in enumerate(zip(vectors, sizes)):
            frame = add_item(w, "frame", video, i * 0.2, i * 2)
            write_faces(w, frame, [_face(vec, size, 400.0, box=(10, 60 + i, 60, 10 + i))], case.thumbs_dir)
        finish_video(w, video)


def _at(query: np.ndarray, u: np.ndarray, d: float) -> np.ndarray:
    """A unit vector at euclidean distance d from the unit vector query, towards u."""
    a = 2 * np.arcsin(d / 2)
    return np.cos(a) * query + np.sin(a) * u


# A person walks past, face turned away, turns to the camera for a moment, turns away again:
# distances to the query photo's face, frame by frame (neighbours stay close, so one track).
TURN = [0.85, 0.85, 0.8, 0.8, 0.75, 0.7, 0.6, 0.45, 0.3, 0.12, 0.1, 0.3, 0.45, 0.6, 0.7, 0.75, 0.8, 0.85, 0.85, 0.85]


def test_the_frame_where_the_face_turns_is_found_and_named(tmp_path):
    """The turned-away frames are the larger faces, so three quality representatives are
    all far from the query and the old search misses the track; scoring every detection
    finds it and names the frame that matched."""
    case = new_case(tmp_path)
    query, u = _query_and_direction(4)
    _video_track(case, [_at(query, u, d) for d in TURN], [60 if d > 0.5 else 32 for d in TURN])
    (track,) = case.store.query("SELECT id FROM face_tracks")
    reps = case.store.query("SELECT embedding FROM faces WHERE indexed = 1")
    assert min(np.linalg.norm(np.frombuffer(r[0], "<f4") - query) for r in reps) > 0.6  # reps alone miss it
    (hit,) = search_tracks(case.store.read, query, 0.6)
    assert hit.track_id == track[0] and hit.matched == 5 and hit.detections == 20
    assert hit.best_distance == pytest.approx(0.1, abs=1e-3) and hit.distance < 0.35
    best_frame_time = case.store.scalar("SELECT i.frame_time FROM faces f JOIN items i ON i.id = f.item_id WHERE f.id = ?",
                                        (hit.best_face_id,))
    assert best_frame_time == pytest.approx(2.0)
    assert search_tracks(case.store.read, query, 0.6, {track[0]}) == []
    assert search_tracks(case.store.read, -query, 0.6) == []
    case.close()


def test_one_lucky_frame_does_not_carry_a_long_track(tmp_path):
    """A stranger's 16-frame track with a single detection that happens to fall close to
    the query (as small blurred faces of different people do) is not a match."""
    case = new_case(tmp_path)
    query, u = _query_and_direction(5)
    _video_track(case, [_at(query, u, 0.55 if i == 7 else 0.8) for i in range(16)], [30] * 16)
    assert search_tracks(case.store.read, query, 0.6) == []
    case.close()


def test_calibrated_track_evidence_and_leads(tmp_path):
    """With the packaged calibration, a track is scored on its detections' likelihood
    ratios for the sizes of both faces; a track of faces under the reliable width is a lead."""
    from forensics.faces.calibration import FaceQuality, load_calibration

    cal = load_calibration()
    photo = FaceQuality(110.0)  # an LFW-sized query face
    case = new_case(tmp_path)
    query, u = _query_and_direction(4)
    _video_track(case, [_at(query, u, d) for d in TURN], [60 if d > 0.5 else 32 for d in TURN])
    (hit,) = search_tracks(case.store.read, query, None, calibration=cal, query_quality=photo)
    assert hit.log10_lr is not None and hit.log10_lr >= cal.decision_log10_lr and not hit.lead
    assert hit.best_distance == pytest.approx(0.1, abs=1e-3)
    case.close()
    small = new_case(tmp_path / "small")
    _video_track(small, [_at(query, u, 0.15)] * 6, [18] * 6)
    (lead,) = search_tracks(small.store.read, query, None, calibration=cal, query_quality=photo)
    assert lead.lead and not cal.reliable(FaceQuality(18.0))
    assert search_tracks(small.store.read, -query, None, calibration=cal, query_quality=photo) == []
    with pytest.raises(ValueError):
        search_tracks(small.store.read, query, None)
    small.close()


def test_footage_rule_hits_and_leads():
    """A reliable track is a hit only at its band's footage level; under it, down to the
    calibration's decision level, it is a lead for review; small faces are always leads;
    an examiner's own level replaces the footage levels."""
    from forensics.faces.calibration import load_calibration
    from forensics.faces.track_search import LEAD_SMALL, LEAD_WEAK, TrackRule

    cal = load_calibration()
    rule = TrackRule(levels=((40.0, 1.5), (24.0, 2.0)), min_matched=2)
    d = cal.decision_log10_lr
    assert rule.verdict(2.1, 3, 30.0, cal, None) == "hit"
    assert rule.verdict(1.8, 3, 30.0, cal, None) == LEAD_WEAK  # 24-40 px needs 2.0
    assert rule.verdict(1.8, 3, 45.0, cal, None) == "hit"
    assert rule.verdict(2.1, 1, 30.0, cal, None) == LEAD_WEAK  # one detection is not enough for a hit
    assert rule.verdict(d - 0.01, 3, 30.0, cal, None) is None
    assert rule.verdict(2.5, 3, 20.0, cal, None) == LEAD_SMALL
    assert rule.verdict(d + 0.1, 3, 30.0, cal, d) == "hit"  # the examiner's own level
