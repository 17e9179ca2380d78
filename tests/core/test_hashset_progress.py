"""Hash-set imports report progress through the file and can be cancelled: a cancelled
import leaves no set, no entries and no errors behind, is audited, and can be run again."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest

from forensics.case import Case
from forensics.model import Cancelled, Progress
from test_hashsets import case  # noqa: F401  (the same small ingested case)

LINES = 12_000


def _list(path: Path, first_md5: str, bad_every: int = 0) -> Path:
    with open(path, "w") as fh:
        fh.write(f"{first_md5}  evidence-match\n")
        for n in range(LINES - 1):
            fh.write("not a hash\n" if bad_every and n % bad_every == 0 else hashlib.md5(str(n).encode()).hexdigest() + "\n")
    return path


def _md5(case: Case, name: str) -> dict:
    return next(i for i in case.items() if i["path"].endswith(name))


def test_progress_follows_the_file_to_its_end(case: Case, tmp_path: Path) -> None:
    lst = _list(tmp_path / "l.md5", _md5(case, "f0.bin")["md5"], bad_every=1000)
    seen: list[Progress] = []
    r = case.hashsets.import_file(lst, "L", category=1, progress=seen.append)
    size = lst.stat().st_size
    assert len(seen) >= LINES // 2000 and all(p.total == size for p in seen)
    dones = [p.done for p in seen]
    assert dones == sorted(dones) and 0 < dones[0] < size and dones[-1] == size
    assert seen[-1].message == f"hash set: {r['entries']:,} hashes read" and seen[-1].failed == r["rejected"] == 12
    assert r["entries"] == LINES - 12 and r["matched_items"] == 1


def test_nsrl_progress_follows_the_rows(case: Case, tmp_path: Path) -> None:
    db = tmp_path / "rds.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, file_name TEXT)")
    conn.executemany("INSERT INTO FILE VALUES (?, NULL, NULL, 'x')",
                     [(hashlib.sha256(str(n).encode()).hexdigest(),) for n in range(5000)])
    conn.commit()
    conn.close()
    seen: list[Progress] = []
    r = case.hashsets.import_file(db, "NSRL", kind="known-good", progress=seen.append)
    assert r["entries"] == 5000
    assert [(p.done, p.total) for p in seen] == [(2000, 5000), (4000, 5000), (5000, 5000)]
    (s,) = case.hashsets.sets()
    assert s["category_handling"] == "every entry known-good, hidden with 'hide known-good'"


@pytest.mark.parametrize("at", [1, None])  # the first report, or before the last batch is written
def test_cancelled_import_is_rolled_back_and_audited(case: Case, tmp_path: Path, monkeypatch, at) -> None:
    item = _md5(case, "f0.bin")
    lst = _list(tmp_path / "l.md5", item["md5"], bad_every=500)
    cancel = threading.Event()
    reports: list[Progress] = []

    def progress(p: Progress) -> None:
        reports.append(p)
        if at is not None and len(reports) == at:
            cancel.set()

    if at is None:  # a cancel that arrives after the reader's last record, before the final write
        monkeypatch.setattr("forensics.hashsets.service.REPORT_EVERY", 10 ** 9)
        cancel.set()
    with pytest.raises(Cancelled):
        case.hashsets.import_file(lst, "L", category=1, progress=progress, cancel=cancel)
    assert case.hashsets.sets() == [] and case.hashsets.unfinished() == []
    for table in ("hash_sets", "hash_set_entries", "hash_set_errors", "hash_matches"):
        assert case.store.scalar(f"SELECT COUNT(*) FROM {table}") == 0, table
    assert case.item(item["id"])["category"] is None
    entry = case.audit_entries("hashset.import")[-1]
    assert entry.result["cancelled"] is True and entry.params["name"] == "L"
    # What was written before the cancel (nothing when cancelled before the first batch of 50,000).
    assert entry.result["partial_entries_removed"] == 0
    assert case.verify_audit().ok
    r = case.hashsets.import_file(lst, "L", category=1)  # the same name imports again
    assert r["matched_items"] == 1 and case.item(item["id"])["category"] == 1
    assert [s["name"] for s in case.hashsets.sets()] == ["L"]


def test_cancel_after_a_committed_batch_removes_it(case: Case, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("forensics.hashsets.service.BATCH", 3000)  # a batch is written before the cancel
    lst = _list(tmp_path / "l.md5", _md5(case, "f1.bin")["md5"])
    cancel = threading.Event()
    seen: list[Progress] = []

    def progress(p: Progress) -> None:
        seen.append(p)
        if len(seen) == 2:  # at record 4000: one batch of 3000 is committed
            cancel.set()

    with pytest.raises(Cancelled):
        case.hashsets.import_file(lst, "L", progress=progress, cancel=cancel)
    assert case.audit_entries("hashset.import")[-1].result["partial_entries_removed"] == 3000
    assert case.store.scalar("SELECT COUNT(*) FROM hash_set_entries") == 0 and case.hashsets.sets() == []


def test_ctrl_c_in_the_cli_rolls_back_like_cancel(case: Case, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    lst = _list(tmp_path / "l.md5", _md5(case, "f2.bin")["md5"])
    with open(lst, "a") as fh:  # long enough to be interrupted mid-way on any machine
        fh.writelines(hashlib.md5(f"more {n}".encode()).hexdigest() + "\n" for n in range(300_000))
    # The import runs at the lowest priority, so that on a loaded machine this process (which sends the
    # signal) is not starved while the import runs to its end before the Ctrl-C arrives.
    proc = subprocess.Popen([sys.executable, "-m", "forensics.cli", "hashsets", "import", str(case.path), str(lst),
                             "--name", "L"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: os.nice(19))
    first = proc.stderr.readline()  # the first progress line: the import is writing entries
    assert first.startswith("hash set ["), first
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    assert "interrupted" in rest
    assert case.hashsets.sets() == [] and case.hashsets.unfinished() == []
    assert case.store.scalar("SELECT COUNT(*) FROM hash_set_entries") == 0
    assert case.audit_entries("hashset.import")[-1].result["cancelled"] is True
