"""The face index: exact and hnswlib modes, euclidean distances, lazy sync, persistence."""
from __future__ import annotations

import json

import numpy as np
import pytest

import forensics.faces.index as index_mod
from forensics.faces.detect import FaceRecord
from forensics.faces.index import FaceIndex, exact_knn
from forensics.faces.pipeline import write_faces
from test_faces_pipeline import add_item, new_case


def record(v: np.ndarray) -> FaceRecord:
    return FaceRecord(10, 110, 110, 10, 1.0, 100, 500.0, False, np.asarray(v, "<f4").tobytes(), "test", b"\xff\xd8")


def fill(case, vecs: np.ndarray, per_item: int = 1) -> list[int]:
    ids: list[int] = []
    with case.store.write() as w:
        for s in range(0, len(vecs), per_item):
            ids += write_faces(w, add_item(w), [record(v) for v in vecs[s:s + per_item]], case.thumbs_dir)
    return ids


def vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=0.1, size=(max(1, n // 10), 128))
    return (centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.03, size=(n, 128))).astype(np.float32)


def test_exact_knn_matches_brute_force():
    x = vectors(300)
    idx, dist = exact_knn(x[:20], x, 5)
    brute = np.sqrt(((x[:20, None, :].astype(np.float64) - x[None]) ** 2).sum(-1))
    assert np.array_equal(idx[:, 0], np.arange(20))
    assert np.allclose(dist, np.sort(brute, 1)[:, :5], atol=1e-5)


def test_exact_mode_returns_euclidean_distances(tmp_path):
    case = new_case(tmp_path)
    x = vectors(200)
    ids = fill(case, x)
    idx = FaceIndex(case.index_dir, lambda: case.store.read, "test")
    assert not idx.uses_hnsw()
    res = idx.search(x[7], 5)
    assert res[0].face_id == ids[7] and res[0].distance == pytest.approx(0.0, abs=1e-5)
    want = float(np.linalg.norm(x[7].astype(np.float64) - x[ids.index(res[1].face_id)]))
    assert res[1].distance == pytest.approx(want, rel=1e-5)
    assert [r.distance for r in res] == sorted(r.distance for r in res)


def test_hnsw_mode_recall_sync_and_persistence(tmp_path, monkeypatch):
    monkeypatch.setattr(index_mod, "EXACT_LIMIT", 100)
    case = new_case(tmp_path)
    x = vectors(1500, seed=3)
    ids = fill(case, x[:1200], per_item=4)
    idx = FaceIndex(case.index_dir, lambda: case.store.read, "test")
    assert idx.uses_hnsw()
    hits = 0
    for qi in range(0, 1200, 40):
        got = [r.face_id for r in idx.search(x[qi], 10)]
        order, dist = exact_knn(x[qi:qi + 1], x[:1200], 10)
        hits += len(set(got) & {ids[i] for i in order[0]})
        # distances are real euclidean (hnswlib's l2 space gives squares), re-ranked
        best = idx.search(x[qi], 3)
        assert best[1].distance == pytest.approx(dist[0][1], rel=1e-4)
    assert hits / (30 * 10) >= 0.99
    side = json.loads((case.index_dir / "faces.json").read_text())
    assert side["element_count"] == 1200 and (case.index_dir / side["file"]).is_file()

    # New faces (a later ingest) are added lazily on the next search, by a fresh index
    # object that loads the persisted file rather than rebuilding.
    new_ids = fill(case, x[1200:])
    idx2 = FaceIndex(case.index_dir, lambda: case.store.read, "test")
    assert idx2.search(x[1300], 1)[0].face_id == new_ids[100]
    side2 = json.loads((case.index_dir / "faces.json").read_text())
    assert side2["element_count"] == 1500 and side2["generation"] == side["generation"] + 1
    assert not (case.index_dir / side["file"]).exists()

    # Faces taken out of the index (e.g. relinked into a track) stop being returned.
    with case.store.write() as w:
        w.execute("UPDATE faces SET indexed = 0 WHERE id = ?", (new_ids[100],))
    assert idx2.search(x[1300], 1)[0].face_id != new_ids[100]
    with case.store.write() as w:
        w.execute("UPDATE faces SET indexed = 1 WHERE id = ?", (new_ids[100],))
    assert FaceIndex(case.index_dir, lambda: case.store.read, "test").search(x[1300], 1)[0].face_id == new_ids[100]


def test_broken_index_files_are_rebuilt_from_the_database(tmp_path, monkeypatch):
    monkeypatch.setattr(index_mod, "EXACT_LIMIT", 50)
    case = new_case(tmp_path)
    x = vectors(300, seed=5)
    ids = fill(case, x, per_item=3)
    FaceIndex(case.index_dir, lambda: case.store.read, "test").search(x[0], 1)
    side = json.loads((case.index_dir / "faces.json").read_text())
    # as after a crash mid-write: truncated index file
    broken = case.index_dir / side["file"]
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    idx = FaceIndex(case.index_dir, lambda: case.store.read, "test")
    assert idx.search(x[42], 1)[0].face_id == ids[42]
    # a sidecar that disagrees with the file is not trusted either
    (case.index_dir / "faces.json").write_text("{not json")
    idx = FaceIndex(case.index_dir, lambda: case.store.read, "test")
    assert idx.search(x[77], 1)[0].face_id == ids[77]
    # another model's index is never mixed with this one's
    assert FaceIndex(case.index_dir, lambda: case.store.read, "other-model").search(x[5], 1)[0].face_id == ids[5]
    info = FaceIndex(case.index_dir, lambda: case.store.read, "test").rebuild()
    assert info["mode"] == "hnsw" and info["size"] == 300


def test_knn_all_excludes_self_and_agrees_between_modes(tmp_path, monkeypatch):
    case = new_case(tmp_path)
    x = vectors(400, seed=9)
    fill(case, x, per_item=2)
    idx = FaceIndex(case.index_dir, lambda: case.store.read, "test")
    ids, nbr, dist = idx.knn_all(8)
    assert nbr.shape == (400, 8) and not (nbr == ids[:, None]).any()
    monkeypatch.setattr(index_mod, "EXACT_LIMIT", 50)
    ids2, nbr2, dist2 = idx.knn_all(8)
    assert np.array_equal(ids, ids2)
    agree = np.mean([len(set(a) & set(b)) / 8 for a, b in zip(nbr, nbr2)])
    assert agree >= 0.99
    assert np.allclose(dist[:, 0], dist2[:, 0], atol=1e-4)
