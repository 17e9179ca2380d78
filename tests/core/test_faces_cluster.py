"""Clustering constraints, analyst decisions and the FaceService person API (no ../shared needed)."""
from __future__ import annotations

import numpy as np
import pytest

from forensics.faces.calibration import load_calibration
from forensics.faces.cluster import Graph, bcubed, build_graph, constrained_whispers
from forensics.faces.pipeline import write_faces
from forensics.model import CaseError
from test_faces_index import record
from test_faces_pipeline import add_item, new_case

RNG = np.random.default_rng(11)


def identity() -> np.ndarray:
    v = RNG.normal(size=128)
    return v / np.linalg.norm(v)  # identities ~1.4 apart


def face_of(centre: np.ndarray) -> np.ndarray:
    return centre + RNG.normal(scale=0.015, size=128)  # same-person faces ~0.25 apart


def photos(case, *groups: list[np.ndarray]) -> list[list[int]]:
    """One photo per group of face vectors; returns face ids per photo."""
    out = []
    with case.store.write() as w:
        for g in groups:
            out.append(write_faces(w, add_item(w), [record(v) for v in g], case.thumbs_dir))
    return out


def person_of(case, face_id: int) -> tuple[int | None, str | None]:
    r = case.store.read.execute("SELECT person_id, link FROM faces WHERE id = ?", (face_id,)).fetchone()
    return r[0], r[1]


def test_bcubed_known_answers():
    truth = {1: "a", 2: "a", 3: "b", 4: "b"}
    assert bcubed({1: 0, 2: 0, 3: 1, 4: 1}, truth) == (1.0, 1.0, 1.0)
    p, r, f = bcubed({1: 0, 2: 0, 3: 0, 4: 0}, truth)
    assert (p, r) == (0.5, 1.0) and f == pytest.approx(2 / 3)
    p, r, _ = bcubed({1: 0, 2: 1, 3: 2, 4: 3}, truth)
    assert (p, r) == (1.0, 0.5)


def test_cannot_link_fixed_and_forbidden_labels_hold():
    # five near-identical nodes in a clique; 0 and 1 are in the same photo
    n = 5
    adj = [{v: 1.5 for v in range(n) if v != u} for u in range(n)]
    g = Graph(n, adj, [set() for _ in range(n)])
    g.cannot[0].add(1)
    g.cannot[1].add(0)
    labels = constrained_whispers(g)
    assert labels[0] != labels[1]
    assert len(set(labels)) == 2  # everyone else joins one of them
    # a fixed node keeps its label; a node forbidden from it stays out
    g.fixed = {2: 1000}
    g.forbidden = {3: {1000}}
    labels = constrained_whispers(g)
    assert labels[2] == 1000 and labels[3] != 1000 and labels[0] != labels[1]


def test_build_graph_keeps_only_edges_under_threshold():
    ids = np.array([10, 11, 12])
    nbr = np.array([[11, 12], [10, 12], [10, 11]])
    dist = np.array([[0.3, 0.9], [0.3, 0.9], [0.9, 0.9]])
    g = build_graph(ids, nbr, dist, {10: 0, 11: 1, 12: 2}, 3, 0.5)
    assert g.adj[0] == {1: pytest.approx(1.2)} and g.adj[2] == {} and g.edges() == 1


def test_clusters_respect_photos_and_analyst_decisions_survive_recluster_and_new_faces(tmp_path):
    case = new_case(tmp_path)
    A, B, C = identity(), identity(), identity()
    a = [f[0] for f in photos(case, *[[face_of(A)] for _ in range(6)])]
    b = [f[0] for f in photos(case, *[[face_of(B)] for _ in range(5)])]
    c = [f[0] for f in photos(case, *[[face_of(C)] for _ in range(4)])]
    ab_pair = photos(case, [face_of(A), face_of(B)])[0]  # a group photo
    lone = photos(case, [identity()])[0][0]

    run = case.faces.cluster()
    assert run["clusters"] == 3 and run["suggested"] == 0
    pa, pb = person_of(case, a[0])[0], person_of(case, b[0])[0]
    assert {person_of(case, f) for f in a + [ab_pair[0]]} == {(pa, "cluster")}
    assert {person_of(case, f)[0] for f in b + [ab_pair[1]]} == {pb} and pa != pb
    assert person_of(case, lone) == (None, None)
    assert len(case.faces.clusters()) == 3 and case.faces.persons() == []
    case.faces.cluster()  # a re-run keeps cluster ids stable for the analyst
    assert (person_of(case, a[0])[0], person_of(case, b[0])[0]) == (pa, pb)

    # The analyst names A's cluster, leaving one face out, and removes another.
    alice = case.faces.create_person_from_cluster(pa, "Alice", exclude_face_ids=[a[5]])
    assert alice["kind"] == "person" and alice["confirmed"] == 6 and alice["name"] == "Alice"
    case.faces.remove_face(a[4])
    assert person_of(case, a[4]) == (None, None)

    # Re-clustering never undoes any of it.
    case.faces.cluster()
    assert person_of(case, a[0]) == (pa, "confirmed")
    assert person_of(case, a[4])[0] != pa and person_of(case, a[5])[0] != pa
    assert case.faces.person(pa)["confirmed"] == 5

    # A later ingest's faces of Alice are suggested, never silently confirmed.
    new = [f[0] for f in photos(case, *[[face_of(A)] for _ in range(3)])]
    run = case.faces.cluster()
    assert run["suggested"] >= 3
    assert all(person_of(case, f) == (pa, "suggested") for f in new)
    case.faces.confirm_suggestion(new[0])
    case.faces.reject_suggestion(new[1])
    case.faces.cluster()
    assert person_of(case, new[0]) == (pa, "confirmed")
    assert person_of(case, new[1])[0] != pa
    assert person_of(case, new[2]) == (pa, "suggested")
    summary = [p for p in case.faces.persons() if p["id"] == pa][0]
    assert summary["confirmed"] == 6 and summary["suggested"] == 1 and summary["representative_face_ids"]

    # Name B, split two of its faces off, merge them back: all audited.
    bob = case.faces.name_person(pb, "Bob")
    assert bob["kind"] == "person"
    split = case.faces.split([b[0], b[1]], name="Bob?")
    assert split["confirmed"] == 2 and person_of(case, b[0]) == (split["id"], "confirmed")
    case.faces.cluster()
    assert person_of(case, b[0])[0] == split["id"]  # the split holds through a re-cluster
    merged = case.faces.merge(pb, [split["id"]])
    assert merged["confirmed"] == 6 and person_of(case, b[1]) == (pb, "confirmed")
    case.faces.rename(pb, "Robert")
    assert case.faces.person(pb)["name"] == "Robert"

    actions = [e.action for e in case.audit_entries("persons.")] + [e.action for e in case.audit_entries("faces.")]
    for act in ("persons.create", "persons.remove_face", "persons.confirm", "persons.reject", "persons.split",
                "persons.merge", "persons.rename", "faces.cluster"):
        assert act in actions
    cl = case.audit_entries("faces.cluster")[-1]
    assert "model" in cl.params and cl.params["rule"] == "calibrated" and "clusters" in cl.result
    assert cl.params["calibration"] == load_calibration().version and cl.params["link_log10_lr"] > 0
    assert case.verify_audit().ok


def test_search_by_face_id_reports_euclidean_and_audits(tmp_path):
    case = new_case(tmp_path)
    A, B = identity(), identity()
    fa = [f[0] for f in photos(case, *[[face_of(A)] for _ in range(4)])]
    photos(case, [face_of(B)], [face_of(B)])
    res = case.faces.search(face_id=fa[0], top=10)
    got = [m["face_id"] for m in res["matches"]]
    assert sorted(got) == sorted(fa[1:])  # itself excluded, B beyond 0.6
    row = {r[0]: r[1] for r in case.store.query("SELECT id, embedding FROM faces")}
    va = np.frombuffer(row[fa[0]], "<f4").astype(float)
    m = res["matches"][0]
    assert m["distance"] == pytest.approx(np.linalg.norm(va - np.frombuffer(row[m["face_id"]], "<f4")), abs=1e-4)
    assert m["kind"] == "image" and set(m["box"]) == {"top", "right", "bottom", "left"}
    # every hit carries its calibrated evidence, strongest first, above the decision level
    lrs = [x["log10_lr"] for x in res["matches"]]
    assert lrs == sorted(lrs, reverse=True) and min(lrs) >= load_calibration().decision_log10_lr
    assert all(x["verbal"].endswith("the same person") and x["band"] == "full-full" and not x["lead"]
               for x in res["matches"])
    assert res["calibration"]["version"] == load_calibration().version and "ENFSI" in res["calibration"]["scale"]
    loose = case.faces.search(face_id=fa[0], threshold=2.0)
    assert len(loose["matches"]) == 5 and loose["matches"][-1]["distance"] > 0.6
    assert loose["matches"][-1]["log10_lr"] < 0  # kept by the distance, and says it is evidence against
    entry = case.audit_entries("faces.search")[-2]
    assert entry.params["face_id"] == fa[0] and entry.params["threshold"] is None and entry.result == {"matches": 3}
    assert entry.params["min_log10_lr"] == load_calibration().decision_log10_lr and entry.params["calibration"] == load_calibration().version
    assert entry.examiner == "tester" and "dlib" in entry.params["model"]
    with pytest.raises(CaseError):
        case.faces.search(face_id=99999)
    with pytest.raises(CaseError):
        case.faces.search()


def test_face_processing_refuses_without_authority(tmp_path):
    case = new_case(tmp_path)
    # The schema forbids an empty authority; a case record from elsewhere might still lack one.
    from dataclasses import replace

    from forensics.context import CaseRecord

    case.ctx = replace(case.ctx, record=CaseRecord({**case.info, "authority": "  "}))
    for call in (lambda: case.faces.cluster(), lambda: case.faces.search(face_id=1), lambda: case.faces.analyze(),
                 lambda: case.faces.reindex()):
        with pytest.raises(CaseError, match="authority"):
            call()
