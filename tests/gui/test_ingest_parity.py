"""An ingest from the workbench leaves the case exactly as `forensics ingest` does: the
same place names, hash-set matches, copy groups and face clusters (both run
Case.ingest_and_analyse)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from forensics.case import Case
from forensics.cli import main


def _new_case(path: Path, sample_evidence: Path) -> None:
    case = Case.create(path, name="Parity", number="P-1", examiner="Tester", authority="Warrant P-1 (test)")
    # A known-bad set holding Grace Hopper's photo, imported before any evidence exists.
    hopper = sample_evidence / "phone_dump" / "DCIM" / "IMG_0002.jpg"
    hashes = path.parent / f"{path.name}-known.md5"
    hashes.write_text(f"{hashlib.md5(hopper.read_bytes()).hexdigest()}  IMG_0002.jpg\n")
    case.hashsets.import_file(hashes, "known", kind="known-bad", category=1)
    case.close()


def _outcome(path: Path) -> dict:
    with Case.open(path) as case:
        matches = sorted((m["path"], m["set_name"], m["hash"]) for m in case.hashsets.matches())
        groups = sorted((g["kind"], tuple(sorted(m["path"] for m in g["members"]))) for g in case.copies.groups())
        clusters = set()
        for c in case.faces.clusters() + case.faces.persons():
            p = case.faces.person(c["id"])
            clusters.add(frozenset([(ph["path"], tuple(ph["box"].values())) for ph in p["photos"]]
                                   + [(v["path"], v["start"], v["end"]) for v in p["videos"]]))
        items = case.items()
        categories = sorted((i["path"], i["category"]) for i in items if i["category"] is not None)
        places = sorted((i["path"], i["place"]["status"], i["place"]["country_code"], i["place"]["city"],
                         i["place"]["locality"], i["place"]["time_zone"]) for i in items if i["place"])
    return {"matches": matches, "groups": groups, "clusters": clusters, "categories": categories, "places": places}


def test_workbench_ingest_matches_cli_ingest(window, qtbot, tmp_path, sample_evidence):
    cli_case, gui_case = tmp_path / "cli", tmp_path / "gui"
    _new_case(cli_case, sample_evidence)
    _new_case(gui_case, sample_evidence)
    assert main(["ingest", str(cli_case), str(sample_evidence), "--workers", "1", "--json"]) == 0

    with qtbot.waitSignal(window.gallery_refreshed, timeout=20_000):
        window.open_case(gui_case, examiner="Tester")
    controller = window.ingest_controller
    with qtbot.waitSignal(controller.finished, timeout=300_000) as sig:
        controller.start([str(sample_evidence)], faces=True, workers=1)
    summary = sig.args[0]
    assert summary is not None and not isinstance(summary, Exception), summary
    assert set(summary.analysis) == {"places", "hashsets", "copies", "faces"}
    assert not any("error" in step for step in summary.analysis.values()), summary.analysis
    window.tasks.wait(30_000)
    window.close_case()

    cli, gui = _outcome(cli_case), _outcome(gui_case)
    # Each part must be non-trivial, or the comparison would prove nothing.
    assert len(cli["matches"]) >= 2  # the photo and its binary copy
    assert len(cli["groups"]) >= 2 and any(len(members) >= 3 for _, members in cli["groups"])  # Hopper x3
    assert any(len(c) >= 2 for c in cli["clusters"])
    assert {p[2] for p in cli["places"]} >= {"FR", "JP", "US", "AU", "ZA"}  # the sample's trip
    assert gui == cli
