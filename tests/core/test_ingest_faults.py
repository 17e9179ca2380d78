"""A worker process that crashes or hangs on one file costs that file, never the run."""
from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from forensics.ingest.pipeline import IngestOptions, run_ingest
from ingest_faults import crashing_worker, hanging_worker


def _folder(tmp_path, bad_name: str):
    ev = tmp_path / "ev"
    ev.mkdir()
    rng = np.random.default_rng(1)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(ev / f"ok_{i:02d}.png")
    (ev / bad_name).write_bytes(b"whatever")
    return ev


def _check(case, bad_name: str, flag: str):
    items = {i["relpath"]: i for i in case.items()}
    assert len(items) == 13
    assert all(items[f"ok_{i:02d}.png"]["status"] == "ok" and items[f"ok_{i:02d}.png"]["phash"] for i in range(12))
    bad = items[bad_name]
    assert bad["status"] == "error" and flag in bad["flags"] and bad["errors"][0]["stage"] == "internal"
    # The step that never decodes still ran: the file can match a known-hash set.
    assert bad["size"] == 8 and bad["sha256"] == hashlib.sha256(b"whatever").hexdigest()


def test_worker_crash_is_recorded_against_the_file(new_case, tmp_path):
    ev = _folder(tmp_path, "crash.jpg")
    s = run_ingest(new_case.ctx, [new_case.add_source(ev)], IngestOptions(workers=2), worker=crashing_worker)
    assert s.added == 13 and s.failed == 1
    _check(new_case, "crash.jpg", "worker_crash")


def test_hung_worker_times_out_and_the_run_goes_on(new_case, tmp_path):
    ev = _folder(tmp_path, "hang.jpg")
    s = run_ingest(new_case.ctx, [new_case.add_source(ev)], IngestOptions(workers=2, file_timeout=2.0), worker=hanging_worker)
    assert s.added == 13 and s.failed == 1
    _check(new_case, "hang.jpg", "timeout")
