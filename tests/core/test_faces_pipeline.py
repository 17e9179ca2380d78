"""The ingest hooks: detect_faces (worker side), write_faces and finish_video (writer side)."""
from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest

from forensics.audit import utc_now
from forensics.case import Case
from forensics.faces.detect import EMBEDDING_DIM, FaceRecord, detect_faces, embedding_array
from forensics.faces.pipeline import face_thumb_relpath, finish_video, write_faces


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()  # public domain NASA portrait of Eileen Collins


def new_case(tmp_path: Path) -> Case:
    return Case.create(tmp_path / "case", name="Faces", number="F-1", examiner="tester", authority="Warrant 1/24")


def add_item(w, kind: str = "image", parent: int | None = None, t: float | None = None, index: int | None = None) -> int:
    """Insert a bare catalogue row (the hooks only need an item id)."""
    sid = w.execute("SELECT id FROM sources").fetchone()
    if sid is None:
        sid = (w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev', ?, ?, 't')",
                         (b"/ev", utc_now())).lastrowid,)
    n = w.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    cur = w.execute(
        "INSERT INTO items (kind, source_id, parent_id, relpath, relpath_raw, frame_time, frame_index, ingested_utc)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, sid[0], parent, f"f{n}", None if parent else f"f{n}".encode(), t, index, utc_now()))
    return int(cur.lastrowid)


def fake_face(vec: np.ndarray, box=(10, 60, 60, 10), score=1.0) -> FaceRecord:
    """A record with a chosen embedding, for testing linking logic on known geometry."""
    v = np.asarray(vec, dtype="<f4")
    return FaceRecord(top=box[0], right=box[1], bottom=box[2], left=box[3], det_score=score, size=50,
                      sharpness=500.0, low_quality=False, embedding=v.tobytes(), model="test", thumb_jpeg=b"\xff\xd8jpeg")


def test_detect_astronaut_known_answer():
    faces = detect_faces(astronaut())
    assert len(faces) >= 1
    best = max(faces, key=lambda f: f.det_score)
    # Eileen Collins' face sits in the upper middle of the 512x512 portrait.
    assert 40 < best.top < 120 and 150 < best.left < 220 and best.size > 70
    assert best.det_score > 0.5 and not best.low_quality
    vec = best.vector()
    assert vec.shape == (EMBEDDING_DIM,) and abs(float(np.linalg.norm(vec)) - 1.0) < 0.5
    assert best.thumb_jpeg[:2] == b"\xff\xd8"
    assert "dlib" in best.model
    # Picklable (crosses the process pool) and frozen.
    assert pickle.loads(pickle.dumps(best)) == best
    with pytest.raises(FrozenInstanceError):
        best.top = 0  # type: ignore[misc]


def test_detect_downscaled_matches_full_resolution():
    """Detection on the downscaled copy finds the same face as on full pixels, at the same place."""
    from PIL import Image

    big = np.asarray(Image.fromarray(astronaut()).resize((2048, 2048), Image.Resampling.BICUBIC))
    full = max(detect_faces(big, {"detect_long_side": 0}), key=lambda f: f.det_score)
    small = max(detect_faces(big, {"detect_long_side": 1024}), key=lambda f: f.det_score)
    assert abs(full.top - small.top) < 40 and abs(full.left - small.left) < 40
    assert float(np.linalg.norm(full.vector() - small.vector())) < 0.15


def test_detect_resets_truncated_images_flag_and_handles_no_face():
    from PIL import ImageFile

    assert detect_faces(np.full((300, 400, 3), 127, np.uint8)) == []
    assert detect_faces(np.zeros((5, 5, 3), np.uint8)) == []
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(ValueError):
        detect_faces(np.zeros((100, 100), np.uint8))


def test_min_face_size_flags_low_quality():
    faces = detect_faces(astronaut(), {"min_face_size": 1000})
    assert faces and all(f.low_quality for f in faces)


def test_write_faces_stores_thumbs_and_is_idempotent(tmp_path):
    case = new_case(tmp_path)
    faces = detect_faces(astronaut())
    with case.store.write() as w:
        item = add_item(w)
        empty = add_item(w)
        ids = write_faces(w, item, faces, case.thumbs_dir)
        assert write_faces(w, empty, [], case.thumbs_dir) == []
    assert len(ids) == len(faces)
    rows = case.store.query("SELECT * FROM faces ORDER BY id")
    assert [r["id"] for r in rows] == ids
    r = rows[0]
    assert (r["box_top"], r["box_right"], r["box_bottom"], r["box_left"]) == faces[0].box
    assert np.array_equal(embedding_array(r["embedding"]), faces[0].vector())
    thumb = case.thumbs_dir / r["thumb"]
    assert r["thumb"] == face_thumb_relpath(ids[0]) and thumb.read_bytes() == faces[0].thumb_jpeg
    analysed = {x[0]: x[1] for x in case.store.query("SELECT item_id, faces FROM face_analysis")}
    assert analysed == {item: len(faces), empty: 0}
    # A resumed writer calling again must not duplicate faces.
    with case.store.write() as w:
        assert write_faces(w, item, faces, case.thumbs_dir) == ids
    assert case.store.scalar("SELECT COUNT(*) FROM faces") == len(faces)


def test_finish_video_links_tracks_and_keeps_best_embeddings(tmp_path):
    case = new_case(tmp_path)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=128), rng.normal(size=128)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)  # two people, ~1.4 apart
    with case.store.write() as w:
        video = add_item(w, "video")
        frames = [add_item(w, "frame", video, float(t), t * 30) for t in range(12)]
        for t, fid in enumerate(frames):
            recs = []
            if t < 6 or t >= 9:  # person A: 0-5 s, gone 6-8 s (longer than the gap), back 9-11 s
                recs.append(fake_face(a + rng.normal(scale=0.02, size=128), box=(10, 60 + t, 60, 10 + t), score=1 + t / 10))
            if t < 4:  # person B in the same frames: never joins A's track
                recs.append(fake_face(b + rng.normal(scale=0.02, size=128), box=(10, 200, 60, 150)))
            write_faces(w, fid, recs, case.thumbs_dir)
        finish_video(w, video)
    tracks = case.store.query("SELECT * FROM face_tracks WHERE video_id = ? ORDER BY start_time, id", (video,))
    spans = sorted((t["start_time"], t["end_time"], t["detections"]) for t in tracks)
    assert spans == [(0.0, 3.0, 4), (0.0, 5.0, 6), (9.0, 11.0, 3)]
    for t in tracks:
        members = case.store.query("SELECT id, indexed FROM faces WHERE track_id = ?", (t["id"],))
        assert len(members) == t["detections"]
        # Only the few best detections are searchable, not one per frame.
        assert sum(m["indexed"] for m in members) == min(3, len(members))
        assert t["best_face_id"] in {m["id"] for m in members}
    # Relinking (a resumed ingest) rebuilds rather than duplicates.
    with case.store.write() as w:
        finish_video(w, video)
    assert case.store.scalar("SELECT COUNT(*) FROM face_tracks") == 3
    assert case.store.scalar("SELECT COUNT(*) FROM faces WHERE track_id IS NULL") == 0


def test_finish_video_without_faces_is_harmless(tmp_path):
    case = new_case(tmp_path)
    with case.store.write() as w:
        video = add_item(w, "video")
        write_faces(w, add_item(w, "frame", video, 0.0, 0), [], case.thumbs_dir)
        finish_video(w, video)
    assert case.store.scalar("SELECT COUNT(*) FROM face_tracks") == 0

