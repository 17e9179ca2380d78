"""Faces on the real reference photos and footage in ../shared/data (skipped without it)."""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from forensics.case import Case
from forensics.faces.calibration import load_calibration
from forensics.faces.cluster import bcubed
from forensics.ingest.records import IngestOptions

DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
FACES = DATA / "faces"
VIDEO = DATA / "video" / "short_hamilton_clip.mp4"

pytestmark = [
    pytest.mark.shared,
    pytest.mark.slow,
    pytest.mark.skipif(not (FACES / "labeled").is_dir() or not VIDEO.is_file(),
                       reason="../shared/data (reference faces and video) is not present beside the project"),
]


def labeled_photos() -> list[Path]:
    return sorted(p for p in (FACES / "labeled").glob("*/*") if p.is_file())


def identity_of(path: str) -> str | None:
    """Folder name of a labeled or John photo: the ground truth identity."""
    p = Path(path)
    return p.parent.name if p.parent.parent.name in ("labeled", "johns") else None


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    # One ingest shared by the read-only checks below (the heavy part: ~90 photos and a video).
    c = Case.create(tmp_path_factory.mktemp("shared") / "case", name="Reference", number="R-1",
                    examiner="tester", authority="Test authority")
    summary = c.ingest([FACES / "labeled", FACES / "johns", FACES / "scenes", VIDEO],
                       IngestOptions(faces=True, workers=2))
    assert summary.failed == 0
    yield c
    c.close()


def faces_by_path(case: Case) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in case.items(kind="image"):
        out[item["path"]] = case.faces.faces_of_item(item["id"])
    return out


def test_every_labeled_photo_and_scene_yields_its_faces(case):
    found = faces_by_path(case)
    for p in labeled_photos():
        assert len(found[str(p)]) == 1, f"{p.name}: {len(found[str(p)])} faces"
    for p in sorted((FACES / "johns").glob("*/*.jpg")):
        assert len(found[str(p)]) == 1, p.name
    with open(FACES / "scenes" / "scenes.csv", newline="") as f:
        for row in csv.DictReader(f):
            n = len(found[str(FACES / "scenes" / row["file"])])
            assert n == int(row["faces_expected"]), f"{row['file']}: {n} faces, expected {row['faces_expected']}"


def test_search_with_each_labeled_photo_finds_that_person(case):
    by_person = defaultdict(set)
    for p in labeled_photos():
        by_person[p.parent.name].add(str(p))
    for p in labeled_photos():
        res = case.faces.search(image_path=p, top=20)
        matches = [m for m in res["matches"] if m["kind"] == "image"]
        others = by_person[p.parent.name] - {str(p)}
        ranked = [m["path"] for m in matches]
        for o in others:
            assert o in ranked, f"{p.name} did not find {Path(o).name}"
        # the person's photos rank above every photo of anybody else
        worst_own = max(ranked.index(o) for o in others) if others else -1
        strangers = [r for r in ranked[:worst_own + 1] if identity_of(r) not in (None, p.parent.name)]
        assert not strangers, f"{p.name}: {strangers}"
        # every hit is evidence for the same person at the calibration's decision level,
        # ranked by that evidence (the likelihood ratio), not by the bare distance
        cal = load_calibration()
        assert all(m["log10_lr"] >= cal.decision_log10_lr for m in res["matches"])
        assert [m["log10_lr"] for m in res["matches"]] == sorted((m["log10_lr"] for m in res["matches"]), reverse=True)


def test_no_john_matches_another_john(case):
    found = faces_by_path(case)
    for p in sorted((FACES / "johns").glob("*/*.jpg")):
        # the John's face as catalogued (searching by face id skips re-detecting the photo)
        res = case.faces.search(face_id=found[str(p)][0]["id"], top=50)
        assert len(res["matches"]) >= 5, p.name  # and he does find himself
        for m in res["matches"]:
            who = identity_of(m["path"])
            assert who is None or not who.startswith("John_") or who == p.parent.name, \
                f"{p.parent.name}/{p.name} matched {m['path']} at {m['distance']}"


def test_lin_manuel_miranda_is_found_in_the_video_with_a_time_span(case):
    res = case.faces.search(image_path=FACES / "labeled" / "lin_manuel_miranda" / "lin-manuel-miranda.png")
    videos = [m for m in res["matches"] if m["kind"] == "video"]
    assert videos, "no video appearance found"
    best = videos[0]
    assert best["path"] == str(VIDEO) and best["log10_lr"] >= load_calibration().decision_log10_lr
    duration = case.item(best["item_id"])["duration"]
    assert 0 <= best["start"] <= best["frame_time"] <= best["end"] <= duration
    assert best["end"] > best["start"]  # a track over several sampled frames, not one frame
    frame = case.item(best["best_frame_item_id"])
    assert frame["kind"] == "frame" and frame["parent_id"] == best["item_id"]
    tracks = case.faces.tracks_of_video(best["item_id"])
    assert best["track_id"] in {t["id"] for t in tracks}
    # searching from the video face finds the portrait, and not its own track again
    back = case.faces.search(face_id=best["best_face_id"])
    assert any(m["path"].endswith("lin-manuel-miranda.png") for m in back["matches"])
    assert best["track_id"] not in {m.get("track_id") for m in back["matches"]}


def test_clustering_labeled_and_johns_bcubed(case):
    run = case.faces.cluster()
    truth, predicted = {}, {}
    for path, faces in faces_by_path(case).items():
        who = identity_of(path)
        if who is None:
            continue
        for f in faces:
            truth[f["id"]] = who
            predicted[f["id"]] = f["person_id"] if f["person_id"] is not None else f"single-{f['id']}"
    p, r, f1 = bcubed(predicted, truth)
    print(f"BCubed precision {p:.4f} recall {r:.4f} F {f1:.4f} over {len(truth)} faces; run {run}")
    assert f1 >= 0.97
    members = defaultdict(set)
    for fid, cl in predicted.items():
        members[cl].add(truth[fid])
    for cl, who in members.items():
        assert len({w for w in who if w.startswith("John_")}) <= 1, f"cluster {cl} mixes {who}"


def test_decisions_survive_recluster_and_a_new_ingest(tmp_path):
    case = Case.create(tmp_path / "case", name="Decisions", number="D-1", examiner="tester", authority="Test authority")
    case.ingest([FACES / "labeled"], IngestOptions(faces=True, workers=2))
    case.faces.cluster()
    obama = {f["id"] for p in (FACES / "labeled" / "obama").iterdir() for f in case.faces.faces_of_item(
        case.store.scalar("SELECT id FROM items WHERE relpath = ?", (f"obama/{p.name}",)))}
    cluster_ids = {case.faces.face(f)["person_id"] for f in obama}
    assert len(cluster_ids) == 1 and None not in cluster_ids
    pid = cluster_ids.pop()
    partial = case.faces.faces_of_item(case.store.scalar("SELECT id FROM items WHERE relpath = 'obama/obama_partial_face.jpg'"))[0]["id"]
    case.faces.create_person_from_cluster(pid, "Barack Obama")
    case.faces.remove_face(partial)

    case.ingest([FACES / "scenes"], IngestOptions(faces=True, workers=2))  # new evidence
    case.faces.cluster()
    person = case.faces.person(pid)
    assert person["name"] == "Barack Obama" and person["confirmed"] == len(obama) - 1
    assert case.faces.face(partial)["person_id"] != pid
    scene_faces = case.faces.faces_of_item(case.store.scalar(
        "SELECT i.id FROM items i JOIN sources s ON s.id = i.source_id WHERE i.relpath = 'obama-1080p.jpg'"))
    assert [(f["person_id"], f["link"]) for f in scene_faces] == [(pid, "suggested")]
    assert case.verify_audit().ok
