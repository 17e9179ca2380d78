"""Face search cannot hide hits: every match within the threshold is found and counted;
--top only pages what is printed, and the output says how many more exist."""
from __future__ import annotations

import json

import numpy as np

from forensics.cli import main
from test_faces_cluster import face_of, identity, photos
from test_faces_pipeline import new_case


def _case_with_appearances(tmp_path, n_same: int, n_other: int):
    case = new_case(tmp_path)
    a, b = identity(), identity()
    same = [f[0] for f in photos(case, *[[face_of(a)] for _ in range(n_same + 1)])]
    photos(case, *[[face_of(b)] for _ in range(n_other)])
    return case, same


def test_200_appearances_are_all_found_and_top_50_says_200(tmp_path, capsys):
    case, same = _case_with_appearances(tmp_path, 200, 40)
    query = same[0]
    case_dir = str(case.path)
    case.close()
    assert main(["faces", "search", case_dir, "--face-id", str(query), "--top", "50"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert sum(" face " in line for line in out) == 50
    assert "200 appearances" in out[-2] and "showing 1-50 of 200" in out[-2]
    assert out[-1].startswith("150 more not shown")
    assert main(["faces", "search", case_dir, "--face-id", str(query), "--top", "50", "--offset", "180", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["total"] == 200 and len(res["matches"]) == 20 and res["more"] == 0
    assert main(["faces", "search", case_dir, "--face-id", str(query), "--top", "500", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert sorted(m["face_id"] for m in res["matches"]) == sorted(same[1:])
    assert all(m["distance"] <= 0.6 for m in res["matches"])
    from forensics.case import Case

    with Case.open(case_dir) as c:
        entry = c.audit_entries("faces.search")[0]
        assert entry.result == {"matches": 200} and entry.params["top"] == 50


def test_every_hit_comes_back_through_the_hnsw_index_too(tmp_path, monkeypatch):
    """Above the exact-search limit the index is approximate: the search widens k until
    the farthest neighbour is past the threshold, so 300 appearances are not cut at 64."""
    import forensics.faces.index as index_mod

    monkeypatch.setattr(index_mod, "EXACT_LIMIT", 500)  # the hnsw path without building a huge case
    case, same = _case_with_appearances(tmp_path, 300, 0)
    rng = np.random.default_rng(5)
    photos(case, *[[v / np.linalg.norm(v)] for v in rng.normal(size=(400, 128))])
    assert case.faces.index.uses_hnsw()
    res = case.faces.search(face_id=same[0], limit=10)
    assert res["total"] == 300 and len(res["matches"]) == 10 and res["more"] == 290
    case.close()
