"""`faces analyze` on a case ingested without faces: resumable, bad files recorded, CLI JSON."""
from __future__ import annotations

import json
import threading

import pytest
from PIL import Image

from forensics.cli import main
from forensics.ingest.records import IngestOptions
from test_faces_pipeline import astronaut, new_case


@pytest.fixture
def evidence(tmp_path):
    d = tmp_path / "evidence"
    d.mkdir()
    im = Image.fromarray(astronaut())
    im.save(d / "a.png")
    # pixels stored sideways with EXIF orientation 6 ("turn 90 degrees clockwise to view")
    exif = Image.Exif()
    exif[0x0112] = 6
    im.rotate(90, expand=True).save(d / "b_rotated.jpg", quality=92, exif=exif.tobytes())
    im.resize((256, 256)).save(d / "c_small.jpg", quality=92)
    Image.new("RGB", (320, 240), (90, 120, 150)).save(d / "d_blank.png")
    return d


def test_analyze_finds_faces_records_bad_files_and_resumes(tmp_path, evidence):
    case = new_case(tmp_path)
    case.ingest([evidence], IngestOptions(faces=False, workers=1))
    assert case.faces.stats()["faces"] == 0
    items = {i["path"].rsplit("/", 1)[1]: i["id"] for i in case.items(kind="image")}
    # The evidence changed under us: one file vanished, another is now garbage.
    (evidence / "c_small.jpg").unlink()
    (evidence / "d_blank.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)

    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        cancel.set()  # stop after the first item

    first = case.faces.analyze(progress=progress, cancel=cancel)
    assert first["cancelled"] and first["analysed"] == 1
    rest = case.faces.analyze()
    assert rest["items"] == 3 and rest["analysed"] == 3 and rest["failed"] == 2 and not rest["cancelled"]
    assert case.faces.analyze()["items"] == 0  # nothing left: resumable, never redone

    faces_a = case.faces.faces_of_item(items["a.png"])
    faces_b = case.faces.faces_of_item(items["b_rotated.jpg"])
    assert faces_a and faces_b
    best = max(faces_b, key=lambda f: f["det_score"])
    upright = max(faces_a, key=lambda f: f["det_score"])
    # boxes are in the item's oriented pixels: the same place as in the upright original
    for side in ("top", "right", "bottom", "left"):
        assert abs(best["box"][side] - upright["box"][side]) <= 8
    assert best["kind"] == "image" and best["person_id"] is None
    assert case.faces.face_thumb_path(best["id"]).read_bytes()[:2] == b"\xff\xd8"
    errors = {i["id"]: i["errors"] for i in case.items(kind="image")}
    for name in ("c_small.jpg", "d_blank.png"):
        assert [e["stage"] for e in errors[items[name]]] == ["faces"]
    assert case.faces.stats()["items_failed"] == 2
    entry = case.audit_entries("faces.analyze")[-2]  # [-1] is the no-op third run
    assert entry.result["failed"] == 2 and "dlib" in entry.params["model"]


def test_cli_analyze_search_cluster_persons_json(tmp_path, evidence, capsys):
    case = new_case(tmp_path)
    case.ingest([evidence], IngestOptions(faces=False, workers=1))
    cdir = str(case.path)
    case.close()

    def run(*argv):
        assert main(list(argv)) == 0
        out = capsys.readouterr().out
        return json.loads(out)  # exactly one JSON document on stdout

    (evidence / "d_blank.png").write_bytes(b"not a png any more")  # changed after ingest
    res = run("faces", "analyze", cdir, "--workers", "2", "--json")  # detection in worker processes
    assert res["faces"] >= 3 and res["failed"] == 1 and res["analysed"] == 4
    res = run("faces", "search", cdir, "--image", str(evidence / "a.png"), "--json")
    paths = {m["path"].rsplit("/", 1)[1] for m in res["matches"]}
    assert {"a.png", "b_rotated.jpg", "c_small.jpg"} <= paths
    assert res["query"]["sha256"] and res["matches"][0]["distance"] < 0.1
    assert all(m["distance"] <= 0.6 for m in res["matches"])
    res = run("faces", "cluster", cdir, "--json")
    assert res["clusters"] >= 1
    cid = res["unconfirmed_clusters"][0]["id"]
    res = run("persons", "name", cdir, str(cid), "Eileen Collins", "--json")
    assert res["kind"] == "person" and res["name"] == "Eileen Collins" and len(res["photos"]) >= 3
    res = run("persons", "list", cdir, "--json")
    assert [p["name"] for p in res["persons"]] == ["Eileen Collins"]
    face = res["persons"][0]["representative_face_ids"][0]
    res = run("persons", "remove-face", cdir, str(face), "--json")
    assert res["removed_from"] == cid
    res = run("faces", "stats", cdir, "--json")
    assert res["persons"] == 1
    res = run("faces", "reindex", cdir, "--json")
    assert res["mode"] == "exact"
    # errors are reported as one JSON document too
    assert main(["faces", "search", cdir, "--face-id", "424242", "--json"]) == 1
    assert "no face 424242" in json.loads(capsys.readouterr().out)["error"]
