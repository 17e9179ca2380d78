"""Ingest on the record: start and end entries whose counts add up, killed runs shown as
interrupted and resumed, crashes as failed, one ingest per source at a time, and the
guard rails that keep a case out of its own evidence."""
from __future__ import annotations

import getpass
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from forensics.case import Case
from forensics.cli import main
from forensics.ingest.pipeline import IngestOptions, run_ingest
from forensics.ingest.worker import process_file
from forensics.model import CaseError
from kill_runs import kill_runs

RELEASE = threading.Event()


def _jpegs(folder: Path, n: int, size: tuple[int, int] = (96, 128)) -> Path:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(11)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(folder / f"img_{i:04d}.jpg", quality=80)
    return folder


def _ingest_entries(case: Case) -> list:
    return case.audit_entries("ingest")


def test_repeated_sigkill_leaves_every_committed_file_on_the_record(tmp_path):
    n_files = 400  # more than 4 kills can commit: the writer commits up to 64 files at a time
    ev = _jpegs(tmp_path / "ev", n_files, (240, 320))
    case_dir = tmp_path / "case"
    Case.create(case_dir, name="K", number="K-1", examiner="Creator", authority="Order 7").close()
    case = Case.open(case_dir, examiner="Checker")
    cmd = [sys.executable, "-m", "forensics.cli", "ingest", str(case_dir), str(ev), "--workers", "1", "--no-faces",
           "--no-analysis", "--examiner", "Killer"]
    kills = kill_runs(cmd, lambda: case.store.scalar("SELECT COUNT(*) FROM items"), tries=4, grow=5)
    assert kills >= 2, "the runs finished before they could be killed"
    assert case.store.scalar("SELECT COUNT(*) FROM items") < n_files
    # before anyone resumes, the killed runs already read as interrupted
    states = [r["status"] for r in case.stats()["ingest_runs"]]
    assert states.count("interrupted") == kills and "running" not in states
    s = case.ingest([ev], IngestOptions(workers=1, faces=False))
    assert s.added + s.skipped == n_files and not s.cancelled

    runs = case.store.query("SELECT id, status, files_done FROM ingest_runs ORDER BY id")
    assert not [r for r in runs if r["status"] == "running"], [dict(r) for r in runs]
    assert sum(r["status"] == "interrupted" for r in runs) == kills
    assert all(r["files_done"] > 0 for r in runs if r["status"] == "interrupted")

    entries = _ingest_entries(case)
    started = {e.params["run_id"] for e in entries if e.action == "ingest.start"}
    # every committed file belongs to a run whose start is on the record
    assert case.store.scalar("SELECT COUNT(*) FROM items WHERE ingest_run IS NULL") == 0
    item_runs = {r[0] for r in case.store.query("SELECT DISTINCT ingest_run FROM items")}
    assert item_runs <= started
    # the audited counts add up to the items in the case
    ends = [e for e in entries if e.action in ("ingest.end", "ingest.interrupted")]
    assert sum(e.result["added"] for e in ends) == n_files == case.store.scalar("SELECT COUNT(*) FROM items")
    for e in entries:
        if e.action == "ingest.end":
            r = e.result
            assert r["found"] == r["skipped"] + r["added"] + r["duplicates"] + r["not_processed"]
            assert r["status"] == "finished" and r["not_processed"] == 0
    interrupted = {e.params["run_id"] for e in entries if e.action == "ingest.interrupted"}
    resumed = {i for e in entries if e.action == "ingest.start" for i in e.params["resumes"]}
    assert len(interrupted) == kills and interrupted == resumed
    assert case.verify_audit().ok
    case.close()


def test_ingest_without_examiner_records_the_os_user(tmp_path, capsys):
    ev = _jpegs(tmp_path / "ev", 2)
    case_dir = tmp_path / "case"
    Case.create(case_dir, name="U", number="U-1", examiner="Case Creator", authority="Order 8").close()
    assert main(["ingest", str(case_dir), str(ev), "--workers", "1", "--no-faces", "--no-analysis", "--json"]) == 0
    capsys.readouterr()
    with Case.open(case_dir, examiner="Reader") as case:
        es = case.audit_entries()
        user = getpass.getuser()
        ingest = [e for e in es if e.action.startswith("ingest")]
        assert ingest and all(e.examiner == user for e in ingest)
        assert all(e.key_id for e in es)
        actions = [(e.action, e.examiner) for e in es]
        assert ("examiner.key", user) in actions and ("examiner.switch", user) in actions
        assert es[actions.index(("examiner.switch", user))].params == {"from": "Case Creator", "to": user}
    # --examiner after the sub-command names who acts
    assert main(["ingest", str(case_dir), str(ev), "--examiner", "Jane Roe", "--no-faces", "--no-analysis"]) == 0
    with Case.open(case_dir) as case:
        assert case.audit_entries()[-1].examiner == "Jane Roe"
        assert case.examiner == getpass.getuser()


def test_switching_examiner_is_an_entry_and_keys_stay_in_the_config_folder(new_case, examiner_config):
    new_case.set_examiner("Second Examiner")
    new_case.log("test.act", {}, {})
    es = new_case.audit_entries()
    assert [e.action for e in es[-3:]] == ["examiner.key", "examiner.switch", "test.act"]
    assert es[-2].params == {"from": "Tester", "to": "Second Examiner"}
    keys = list((examiner_config / "forensics" / "keys").glob("*.pem"))
    assert len(keys) == 2 and all(oct(k.stat().st_mode & 0o777) == "0o600" for k in keys)
    assert not list(new_case.path.rglob("*.pem"))
    v = new_case.verify_audit()
    assert v.ok and {k["examiner"] for k in v.keys} == {"Tester", "Second Examiner"}


def test_case_folder_inside_its_source_is_refused(tmp_path, capsys):
    ev = _jpegs(tmp_path / "ev", 2)
    case_dir = ev / "case"
    Case.create(case_dir, name="G", number="G-1", examiner="E", authority="Order 9").close()
    code = main(["ingest", str(case_dir), str(ev), "--no-faces", "--no-analysis"])
    assert code == 1 and "inside the source" in capsys.readouterr().err
    with Case.open(case_dir) as case:
        with pytest.raises(CaseError, match="inside the case folder"):
            case.ingest([case_dir / "thumbs"])
        with pytest.raises(CaseError, match="inside the source"):
            case.ingest([case_dir])  # the case folder itself as a source
        assert case.store.scalar("SELECT COUNT(*) FROM sources") == 0
        assert case.store.scalar("SELECT COUNT(*) FROM items") == 0


def test_case_create_refuses_a_non_empty_folder_that_is_not_a_case(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    with pytest.raises(CaseError, match="not empty and is not a case"):
        Case.create(tmp_path / "busy", name="N", number="1", examiner="E", authority="W")
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]
    Case.create(tmp_path / "empty", name="N", number="1", examiner="E", authority="W").close()


def _blocking_worker(task, options):
    RELEASE.wait(60)
    return process_file(task, options)


def test_second_ingest_of_a_busy_source_is_refused_with_a_message(new_case, tmp_path):
    ev = _jpegs(tmp_path / "ev", 3)
    sid = new_case.add_source(ev)
    RELEASE.clear()
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(s=run_ingest(new_case.ctx, [sid], IngestOptions(workers=1, faces=False),
                                                                 worker=_blocking_worker)))
    t.start()
    try:
        deadline = time.monotonic() + 30
        while not new_case.store.scalar("SELECT COUNT(*) FROM ingest_runs WHERE status = 'running'"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with Case.open(new_case.path, examiner="Other") as other:
            with pytest.raises(CaseError, match=r"being ingested by run 1 \(Tester"):
                other.ingest([ev], IngestOptions(workers=1, faces=False))
            # a live run is not mistaken for a killed one
            assert other.store.scalar("SELECT status FROM ingest_runs WHERE id = 1") == "running"
    finally:
        RELEASE.set()
        t.join(60)
    assert out["s"].added == 3
    assert [r[0] for r in new_case.store.query("SELECT status FROM ingest_runs ORDER BY id")] == ["finished"]


def _crashing_worker(task, options):
    raise RuntimeError("decoder bug")


def test_a_crash_is_recorded_as_failed_not_finished(new_case, tmp_path):
    ev = _jpegs(tmp_path / "ev", 2)
    with pytest.raises(RuntimeError):
        run_ingest(new_case.ctx, [new_case.add_source(ev)], IngestOptions(workers=1, faces=False), worker=_crashing_worker)
    row = new_case.store.query("SELECT status, error FROM ingest_runs")[0]
    assert row["status"] == "failed" and "decoder bug" in row["error"]
    end = new_case.audit_entries("ingest.end")[-1]
    assert end.result["status"] == "failed" and "decoder bug" in end.result["error"]
    assert end.result["found"] == 2 and end.result["not_processed"] == 2
    # the next run starts cleanly: nothing was left running
    s = new_case.ingest([ev], IngestOptions(workers=1, faces=False))
    assert s.added == 2 and new_case.audit_entries("ingest.start")[-1].params["resumes"] == []
