"""Calibrated clustering and the case calibration check, on synthetic descriptors with
distances placed against the packaged calibration (no ../shared needed)."""
from __future__ import annotations

import numpy as np

from forensics.faces.calibration import FaceQuality, load_calibration
from forensics.faces.detect import FaceRecord
from forensics.faces.pipeline import write_faces
from test_faces_pipeline import add_item, new_case

RNG = np.random.default_rng(5)
CAL = load_calibration()


def rec(v: np.ndarray, size: int = 100) -> FaceRecord:
    return FaceRecord(10, 10 + size, 10 + size, 10, 1.0, size, 400.0, size < 40, np.asarray(v, "<f4").tobytes(),
                      "test", b"\xff\xd8")


def unit() -> np.ndarray:
    v = RNG.normal(size=128)
    return v / np.linalg.norm(v)


def near(c: np.ndarray, spread: float = 0.004) -> np.ndarray:
    return c + RNG.normal(scale=spread, size=128)  # ~0.06 apart: clearly one person


def at_distance(c: np.ndarray, d: float) -> np.ndarray:
    u = unit()
    u -= (u @ c) * c / (c @ c)
    return c + d * u / np.linalg.norm(u)


def add_photos(case, *groups: list[FaceRecord]) -> list[list[int]]:
    with case.store.write() as w:
        return [write_faces(w, add_item(w), list(g), case.thumbs_dir) for g in groups]


def link_of(case, fid: int) -> tuple:
    return tuple(case.store.read.execute("SELECT person_id, link FROM faces WHERE id = ?", (fid,)).fetchone())


def test_low_quality_faces_never_seed_or_join_a_cluster_but_are_suggested(tmp_path):
    case = new_case(tmp_path)
    A = unit()
    good = [f[0] for f in add_photos(case, *[[rec(near(A))] for _ in range(4)])]
    small = add_photos(case, [rec(near(A), size=20)], [rec(near(A), size=20)])
    small = [f[0] for f in small]
    assert not CAL.cluster_eligible(FaceQuality(20.0)) and CAL.cluster_eligible(FaceQuality(100.0))
    run = case.faces.cluster()
    cid = link_of(case, good[0])[0]
    assert cid is not None and all(link_of(case, f) == (cid, "cluster") for f in good)
    # the two small faces are close to each other and to A, yet form no cluster of their own
    assert all(link_of(case, f) == (cid, "suggested") for f in small)
    assert run["clusters"] == 1 and run["low_quality_suggested"] == 2


def test_pairs_in_the_relatives_band_go_to_the_analyst_not_merged(tmp_path):
    case = new_case(tmp_path)
    q = FaceQuality(100.0)
    lo, hi = CAL.match_threshold(q, q, CAL.cluster_link_log10_lr), CAL.match_threshold(q, q)
    # the band between a pair that supports a merge and a same-person decision must be
    # wider than the synthetic faces' spread (near(., 0.002) moves a face ~0.02)
    assert hi - lo > 0.03, "the calibration leaves no band between linking and a same-person decision"
    A = unit()
    B = at_distance(A, (lo + hi) / 2)  # evidence for the same person, but not enough to merge alone
    fa = [f[0] for f in add_photos(case, *[[rec(near(A, 0.002))] for _ in range(3)])]
    fb = [f[0] for f in add_photos(case, *[[rec(near(B, 0.002))] for _ in range(3)])]
    run = case.faces.cluster()
    ca, cb = link_of(case, fa[0])[0], link_of(case, fb[0])[0]
    assert ca and cb and ca != cb
    assert run["possible_relatives"] == 1
    (pair,) = case.faces.possible_relatives()
    assert {pair["person_a"], pair["person_b"]} == {ca, cb}
    assert pair["label"] == "possible relatives / same person"
    assert CAL.decision_log10_lr <= pair["log10_lr"] < CAL.cluster_link_log10_lr
    # naming one of them does not pull the other in either: it stays a pair to review
    case.faces.name_person(ca, "Parent")
    case.faces.cluster()
    assert link_of(case, fb[0])[1] == "cluster" and link_of(case, fb[0])[0] != ca
    assert len(case.faces.possible_relatives()) == 1


def test_calibration_check_warns_when_co_occurring_faces_score_as_one_person(tmp_path):
    case = new_case(tmp_path)
    # a case like LFW: two different people per photo, far apart
    for _ in range(12):
        add_photos(case, [rec(near(unit())), rec(near(unit()))])
    ok = case.faces.calibration_check()
    assert ok["sources"]["same_photo"]["pairs"] == 12 and not ok["departs"] and not ok["warnings"]
    # a case unlike it: the two faces in each photo are near-identical (twins, or a
    # descriptor that fails on this material): different people scoring as one
    for _ in range(12):
        c = unit()
        add_photos(case, [rec(near(c)), rec(near(c))])
    bad = case.faces.calibration_check()
    src = bad["sources"]["same_photo"]
    assert src["pairs"] == 24 and src["misleading"] >= 12 and src["departs"]
    assert bad["departs"] and "one photo or frame" in bad["warnings"][0]
    entry = case.audit_entries("faces.calibration_check")[-1]
    assert entry.result["departs"] is True and entry.params["calibration"] == CAL.version
    assert case.faces.last_calibration_check()["warnings"] == bad["warnings"]


def test_confirmed_persons_add_same_person_pairs(tmp_path):
    case = new_case(tmp_path)
    A = unit()
    fa = [f[0] for f in add_photos(case, *[[rec(near(A))] for _ in range(3)])]
    case.faces.cluster()
    case.faces.name_person(link_of(case, fa[0])[0], "Known")
    res = case.faces.calibration_check()
    assert res["sources"]["confirmed"]["pairs"] == 3 and res["sources"]["confirmed"]["misleading"] == 0


def test_cli_search_json_carries_lr_and_check_calibration(tmp_path, capsys):
    import json

    from forensics.cli import main

    case = new_case(tmp_path)
    A = unit()
    fa = [f[0] for f in add_photos(case, *[[rec(near(A)), rec(near(unit()))] for _ in range(3)])]
    case.close()
    assert main(["faces", "search", str(tmp_path / "case"), "--face-id", str(fa[0]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {m["face_id"] for m in out["matches"]} == set(fa[1:])
    for m in out["matches"]:
        assert m["log10_lr"] >= CAL.decision_log10_lr and "support for the same person" in m["verbal"]
        assert m["band"] and m["lead"] is False and m["distance"] > 0
    assert main(["faces", "check-calibration", str(tmp_path / "case"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["sources"]["same_photo"]["pairs"] == 3 and res["departs"] is False


def test_with_evidence_narrows_and_orders_matches():
    from forensics.faces.service import MATCH_ORDERS, with_evidence

    ms = [{"face_id": 1, "log10_lr": 0.5, "distance": 0.50, "path": "b"},
          {"face_id": 2, "log10_lr": 2.5, "distance": 0.45, "path": "c"},
          {"face_id": 3, "log10_lr": 1.5, "distance": 0.40, "path": "a"}]
    assert [m["face_id"] for m in with_evidence(ms, 1.0)] == [2, 3]
    assert [m["face_id"] for m in with_evidence(ms, 0.0, "Distance")] == [3, 2, 1]
    assert [m["face_id"] for m in with_evidence(ms, -1.0, "File")] == [3, 1, 2]
    assert set(MATCH_ORDERS) == {"Strongest evidence (LR)", "Distance", "File"}


def test_two_faces_alone_in_the_relatives_band_are_put_to_the_analyst_never_merged(tmp_path):
    case = new_case(tmp_path)
    q = FaceQuality(100.0)
    rule = CAL.cluster_rule
    target = min(rule.seed_log10_lr + 0.3, CAL.bounds["full-full"][1] - 0.05)
    assert target >= rule.seed_log10_lr, "no full-size pair can reach the seed level"
    A = unit()
    B = at_distance(A, CAL.match_threshold(q, q, target))  # as strong as siblings ever score on FIW
    fa, fb = [f[0] for f in add_photos(case, [rec(A)], [rec(B)])]
    run = case.faces.cluster()
    ca, cb = link_of(case, fa)[0], link_of(case, fb)[0]
    # not merged: each is a one-face cluster so that the people view can show the pair
    assert ca and cb and ca != cb and run["possible_relatives"] == 1
    (pair,) = case.faces.possible_relatives()
    assert {pair["face_a"], pair["face_b"]} == {fa, fb} and {pair["person_a"], pair["person_b"]} == {ca, cb}
    assert pair["log10_lr"] >= rule.seed_log10_lr and pair["label"] == "possible relatives / same person"
    # a third photo that scores strongly with both corroborates them: one identity
    (fc,) = add_photos(case, [rec((A + B) / 2)])[0]
    run = case.faces.cluster()
    assert link_of(case, fa)[0] == link_of(case, fb)[0] == link_of(case, fc)[0] and run["clusters"] == 1
    assert case.faces.possible_relatives() == []


def test_copies_of_one_photo_are_one_appearance_a_cluster_but_no_corroboration(tmp_path):
    case = new_case(tmp_path)
    A = unit()
    fa, fb = [f[0] for f in add_photos(case, [rec(A)], [rec(near(A, 0.001))])]  # one photo saved twice
    case.faces.cluster()
    ca = link_of(case, fa)[0]
    assert ca is not None and link_of(case, fb) == (ca, "cluster")
    # a face strong with both copies is one face against one appearance: not merged alone
    q = FaceQuality(100.0)
    rule = CAL.cluster_rule
    target = min(rule.seed_log10_lr + 0.3, CAL.bounds["full-full"][1] - 0.05)
    (fc,) = add_photos(case, [rec(at_distance(A, CAL.match_threshold(q, q, target)))])[0]
    case.faces.cluster()
    assert link_of(case, fc)[0] != link_of(case, fa)[0]
    assert any({p["face_a"], p["face_b"]} & {fc} for p in case.faces.possible_relatives())
