"""Derived files checked: a face index damaged in place (same size) is detected by the
checksum in its sidecar, rebuilt, and the rebuild is reported and audited."""
from __future__ import annotations

import json

import forensics.faces.index as index_mod
from forensics.faces.index import SIDECAR, FaceIndex
from test_faces_index import fill, vectors
from test_faces_pipeline import new_case


def test_index_damaged_in_place_is_rebuilt_and_said(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(index_mod, "EXACT_LIMIT", 100)
    case = new_case(tmp_path)
    x = vectors(600, seed=5)
    ids = fill(case, x, per_item=3)
    first = FaceIndex(case.index_dir, lambda: case.store.read, "test")
    assert first.search(x[42], 3)[0].face_id == ids[42]
    meta = json.loads((case.index_dir / SIDECAR).read_text())
    assert len(meta["sha256"]) == 64
    f = case.index_dir / meta["file"]
    raw = bytearray(f.read_bytes())
    size = len(raw)
    raw[size // 3: size // 3 + 4096] = bytes(4096)  # a zeroed block, size unchanged
    f.write_bytes(bytes(raw))
    fresh = FaceIndex(case.index_dir, lambda: case.store.read, "test")  # as the next process would
    hits = fresh.search(x[42], 3)
    assert hits[0].face_id == ids[42] and hits[0].distance < 1e-4
    problems = fresh.take_repairs()
    assert len(problems) == 1 and "checksum" in problems[0] and "rebuilt" in problems[0]
    assert fresh.take_repairs() == []
    meta2 = json.loads((case.index_dir / SIDECAR).read_text())
    assert meta2["generation"] == meta["generation"] + 1
    assert FaceIndex(case.index_dir, lambda: case.store.read, "test").search(x[7], 1)[0].face_id == ids[7]


def test_search_result_reports_and_audits_the_rebuild(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(index_mod, "EXACT_LIMIT", 100)
    case = new_case(tmp_path)
    x = vectors(300, seed=9)
    ids = fill(case, x, per_item=3)
    before = case.faces.search(face_id=ids[3])
    assert before["index"] == "hnsw" and before["index_repaired"] == [] and before["matches"]
    meta = json.loads((case.index_dir / SIDECAR).read_text())
    f = case.index_dir / meta["file"]
    raw = bytearray(f.read_bytes())
    raw[-2048:] = bytes(2048)
    f.write_bytes(bytes(raw))
    case.faces._index = None  # a new session opens the index again
    res = case.faces.search(face_id=ids[3])
    assert len(res["index_repaired"]) == 1
    assert case.audit_entries("faces.index_rebuilt")[-1].result["problems"] == res["index_repaired"]
    assert [m["face_id"] for m in res["matches"]] == [m["face_id"] for m in before["matches"]]
