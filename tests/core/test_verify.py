"""Evidence verification (`forensics verify`) and audit-chain tamper detection, on a case
ingested from real files in tmp_path (never shared data: these tests alter evidence)."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from PIL import Image

from forensics import audit
from forensics.case import Case
from forensics.cli import main
from forensics.ingest.pipeline import IngestOptions
from tamper import unguarded


def _evidence(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (64 + i, 48), (40 * i, 90, 200 - 30 * i)).save(folder / f"photo_{i}.jpg", quality=90)
    (folder / "notes.txt").write_text("meeting at ten\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.png").write_bytes((folder / "photo_0.jpg").read_bytes())
    os.symlink("photo_1.jpg", folder / "link.jpg")
    return folder


@pytest.fixture
def case(tmp_path):
    ev = _evidence(tmp_path / "evidence")
    c = Case.create(tmp_path / "case", name="Verify", number="V-1", examiner="Tester", authority="Order 7/2026")
    c.ingest([ev], IngestOptions(workers=1, faces=False))
    yield c
    c.close()


def _item_id(case: Case, name: str) -> int:
    return next(i["id"] for i in case.items(include_frames=False) if i["path"].endswith(name))


def test_untouched_evidence_verifies_intact_and_is_audited(case):
    files = case.store.scalar("SELECT COUNT(*) FROM items WHERE parent_id IS NULL")
    res = case.verify()
    assert res["status"] == "intact"
    assert res["files"] == res["checked"] == files == 7
    assert res["ok"] == files and res["changed"] == res["missing"] == 0
    assert {f["status"] for f in res["files_checked"]} == {"ok"}
    link = next(f for f in res["files_checked"] if f["path"].endswith("link.jpg"))
    assert "symbolic link" in link["detail"]
    last = case.audit_entries("evidence.verify")[-1]
    assert last.result["status"] == "intact" and last.result["ok"] == files
    assert case.verify_audit().ok


def test_one_changed_byte_is_named_and_deleted_file_is_missing(case, tmp_path):
    target = tmp_path / "evidence" / "sub" / "deep.png"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    (tmp_path / "evidence" / "notes.txt").unlink()
    res = case.verify()
    assert res["status"] == "altered"
    assert res["changed"] == 1 and res["missing"] == 1 and res["ok"] == 5
    changed = next(p for p in res["problems"] if p["status"] == "changed")
    assert changed["item_id"] == _item_id(case, "deep.png")
    assert changed["path"].endswith("sub/deep.png")
    assert changed["actual_sha256"] == hashlib.sha256(bytes(data)).hexdigest() != changed["expected_sha256"]
    assert "SHA-256" in changed["detail"]
    missing = next(p for p in res["problems"] if p["status"] == "missing")
    assert missing["path"].endswith("notes.txt")
    entry = case.audit_entries("evidence.verify")[-1]
    assert {p["path"].rsplit("/", 1)[-1] for p in entry.result["problems"]} == {"deep.png", "notes.txt"}


def test_retargeted_symlink_is_changed(case, tmp_path):
    link = tmp_path / "evidence" / "link.jpg"
    link.unlink()
    os.symlink("photo_2.jpg", link)
    res = case.verify()
    bad = [p for p in res["problems"]]
    assert len(bad) == 1 and bad[0]["path"].endswith("link.jpg") and bad[0]["status"] == "changed"


def test_verify_reads_evidence_without_changing_it(case, tmp_path):
    before = {p: (p.lstat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
              for p in (tmp_path / "evidence").rglob("*") if p.is_file() and not p.is_symlink()}
    case.verify()
    after = {p: (p.lstat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in before}
    assert before == after


def test_cancelled_verify_is_incomplete_and_recorded(case):
    ev = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done == 2:
            ev.set()

    res = case.verify(progress=progress, cancel=ev)
    assert res["cancelled"] and res["status"] == "incomplete"
    assert res["checked"] == 2 < res["files"]
    assert seen == [1, 2]
    assert case.audit_entries("evidence.verify")[-1].result["cancelled"] is True


def test_cli_verify_json_names_changed_file_and_exits_3(case, tmp_path, capsys):
    p = tmp_path / "evidence" / "photo_3.jpg"
    data = bytearray(p.read_bytes())
    data[-3] ^= 0xFF
    p.write_bytes(bytes(data))
    case_dir = str(case.path)
    case.close()
    assert main(["verify", case_dir, "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "altered"
    assert [x["path"].rsplit("/", 1)[-1] for x in doc["problems"]] == ["photo_3.jpg"]
    assert main(["verify", case_dir]) == 3
    text = capsys.readouterr().out
    assert "CHANGED" in text and "photo_3.jpg" in text


def test_cli_verify_intact_exit_0(case, capsys):
    case_dir = str(case.path)
    case.close()
    assert main(["verify", case_dir, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "intact"


def test_edited_audit_entry_breaks_chain_at_that_entry(case, capsys):
    case.verify()
    n = case.store.scalar("SELECT COUNT(*) FROM audit_log")
    assert n >= 3
    seq = 2
    db = unguarded(case.path)
    params = json.loads(db.execute("SELECT params FROM audit_log WHERE seq = ?", (seq,)).fetchone()[0])
    params["tampered"] = True
    db.execute("UPDATE audit_log SET params = ? WHERE seq = ?", (audit.canonical(params), seq))
    db.commit()
    db.close()
    rep = audit.verify(case.store.read)
    assert not rep.ok and rep.first_broken == seq and "edited" in rep.reason
    case_dir = str(case.path)
    case.close()
    assert main(["audit", "verify", case_dir, "--json"]) != 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["first_broken_seq"] == seq


def test_report_states_altered_evidence_after_failed_verify(case, tmp_path):
    (tmp_path / "evidence" / "photo_0.jpg").unlink()
    case.verify()
    out = tmp_path / "r.html"
    case.reports.export(out, selection="all")
    html = out.read_text(encoding="utf-8")
    assert "ALTERED" in html and "1 missing" in html


def test_report_says_not_verified_before_any_verify(case, tmp_path):
    out = tmp_path / "r.html"
    case.reports.export(out, selection="all")
    assert "not verified" in out.read_text(encoding="utf-8")
    case.verify()
    case.reports.export(out, selection="all")
    assert "intact at" in out.read_text(encoding="utf-8")


def test_file_replaced_by_directory_or_fifo_is_changed_without_blocking(case, tmp_path):
    ev = tmp_path / "evidence"
    (ev / "photo_0.jpg").unlink()
    (ev / "photo_0.jpg").mkdir()
    (ev / "photo_2.jpg").unlink()
    os.mkfifo(ev / "photo_2.jpg")  # opening a FIFO for reading would block forever
    res = case.verify()
    bad = {p["path"].rsplit("/", 1)[-1]: p for p in res["problems"]}
    assert set(bad) == {"photo_0.jpg", "photo_2.jpg"}
    assert all(p["status"] == "changed" and "regular file" in p["detail"] for p in bad.values())
    assert res["ok"] == res["files"] - 2
