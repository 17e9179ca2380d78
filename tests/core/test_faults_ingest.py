"""Ingest under faults: failures that can pass are retried, a source that goes away
mid-run and comes back is completed, and verification never calls unchecked files intact."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from forensics.case import Case
from forensics.ingest.pipeline import IngestOptions, run_ingest
from ingest_faults import renaming_worker


def _source(root: Path, n: int = 8) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"f{i:02}.bin").write_bytes(f"content {i}".encode() * 50)
    return root


def test_source_renamed_mid_ingest_and_back(new_case: Case, tmp_path: Path) -> None:
    ev = _source(tmp_path / "ev")
    sid = new_case.add_source(ev)
    s = run_ingest(new_case.ctx, [sid], IngestOptions(workers=1, thumbnails=False), worker=renaming_worker)
    assert (s.added, s.failed) == (8, 5)  # f03 onwards could not be reached
    gone = [i for i in new_case.items() if i["status"] == "error"]
    assert all("cannot stat" in i["errors"][0]["message"] and i["sha256"] is None for i in gone)
    os.rename(str(ev) + ".away", ev)
    v = new_case.verify()
    assert v["status"] == "incomplete" and v["unverifiable"] == 5  # never "intact"
    ids_before = {i["relpath"]: i["id"] for i in new_case.items()}
    new_case.tag_items([gone[0]["id"]], add_tags=["seen"])
    s2 = new_case.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    assert (s2.found, s2.skipped, s2.added, s2.retried, s2.recovered, s2.failed) == (8, 3, 0, 5, 5, 0)
    items = new_case.items()
    assert len(items) == 8 and all(i["status"] == "ok" and i["sha256"] and not i["errors"] for i in items)
    assert {i["relpath"]: i["id"] for i in items} == ids_before  # same ids, no duplicates
    assert new_case.item(gone[0]["id"])["tags"] == ["seen"]  # the analyst's marks stay
    assert new_case.verify()["status"] == "intact"
    # Nothing left to retry: the next run skips everything.
    s3 = new_case.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    assert (s3.skipped, s3.retried) == (8, 0)


def test_retry_failed_retries_permanent_failures_too(new_case: Case, tmp_path: Path) -> None:
    from PIL import Image

    ev = tmp_path / "ev"
    ev.mkdir()
    Image.radial_gradient("L").save(ev / "a.png")
    (ev / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage " * 20)  # a decode error
    new_case.ingest([ev], IngestOptions(workers=1))
    bad = next(i for i in new_case.items() if i["relpath"] == "b.png")
    assert bad["status"] == "error"
    assert new_case.ingest([ev], IngestOptions(workers=1)).retried == 0  # a decode error does not pass by itself
    (ev / "b.png").write_bytes((ev / "a.png").read_bytes())  # (a repaired copy, to see the retry act)
    out = subprocess.run([sys.executable, "-m", "forensics.cli", "ingest", str(new_case.path), str(ev),
                          "--retry-failed", "--no-faces", "--workers", "1", "--no-analysis"],
                         capture_output=True, text=True, check=True).stdout
    assert "1 tried again (1 now without error)" in out
    again = new_case.item(bad["id"])
    assert again["status"] == "ok" and again["phash"] and again["errors"] == []


def test_unverifiable_files_fail_the_check_in_the_cli(new_case: Case, tmp_path: Path) -> None:
    ev = _source(tmp_path / "ev", 2)
    new_case.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    with new_case.store.write() as w:  # as left by a file that could not be read at ingest
        w.execute("UPDATE items SET md5 = NULL, sha1 = NULL, sha256 = NULL, status = 'error' WHERE id = 1")
    p = subprocess.run([sys.executable, "-m", "forensics.cli", "verify", str(new_case.path)], capture_output=True, text=True)
    assert p.returncode == 3 and p.stdout.startswith("INCOMPLETE")


def test_a_killed_ingest_run_is_closed_as_interrupted_by_the_next(new_case: Case, tmp_path: Path) -> None:
    import signal

    ev = _source(tmp_path / "ev", 3)
    p = subprocess.Popen([sys.executable, "-c", "import os, sys; from forensics.case import Case; "
                          "from forensics.ingest.records import IngestOptions; import forensics.ingest.pipeline as P; "
                          "P.COMMIT_EVERY_N = 1; c = Case.open(sys.argv[1]); "
                          "c.ingest([sys.argv[2]], IngestOptions(workers=1, thumbnails=False), "
                          "progress=lambda pr: pr.done >= 2 and os.kill(os.getpid(), 9))",
                          str(new_case.path), str(ev)])
    assert p.wait(timeout=120) == -signal.SIGKILL
    assert [r[0] for r in new_case.store.query("SELECT status FROM ingest_runs")] == ["running"]
    s = new_case.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    assert s.added + s.skipped == 3 and len(new_case.items()) == 3
    assert [r[0] for r in new_case.store.query("SELECT status FROM ingest_runs ORDER BY id")] == ["interrupted", "finished"]
    assert new_case.verify_audit().ok
