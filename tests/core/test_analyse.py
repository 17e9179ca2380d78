"""Case.analyse: the case-wide steps after ingest."""
from __future__ import annotations

from forensics.ingest.pipeline import IngestOptions


def test_analyse_groups_copies_once_and_survives_a_failing_step(new_case, tmp_path, monkeypatch):
    from sample_cases.build import build_sample_evidence

    new_case.ingest([build_sample_evidence(tmp_path / "ev")], IngestOptions(workers=1))
    first = new_case.analyse()
    assert first["copies"]["groups"] >= 2 and "skipped" not in first["copies"]
    assert first["hashsets"] == {"skipped": "no hash sets imported"}
    assert first["faces"] == {"skipped": "no faces in the case"}
    hopper = {i["relpath"].rsplit("/", 1)[-1]: i["id"] for i in new_case.items(include_frames=False)}
    members = new_case.copies.group_members([hopper["IMG_0002.jpg"]])
    assert {hopper["hopper_copy.jpg"], hopper["hopper_small.jpg"]} <= set(members)

    again = new_case.analyse()
    assert "up to date" in again["copies"]["skipped"]

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(new_case.hashsets), "sets", lambda self: [{"id": 1}])
    monkeypatch.setattr(type(new_case.hashsets), "match", broken)
    out = new_case.analyse()
    assert out["hashsets"] == {"error": "RuntimeError: disk full"}
    assert "up to date" in out["copies"]["skipped"]  # the other steps still ran
    errs = new_case.audit_entries("analyse.error")
    assert errs and errs[-1].params == {"step": "hashsets"} and new_case.verify_audit().ok
