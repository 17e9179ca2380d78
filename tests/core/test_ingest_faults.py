"""A worker process that crashes or hangs on one file costs that file, never the run."""
from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from forensics.ingest.pipeline import IngestOptions, run_ingest
from ingest_faults import crashing_worker, hanging_worker, long_video_worker


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


def test_deadline_grows_with_reported_progress_but_not_for_a_hung_file(new_case, tmp_path):
    """A file reporting media progress outlives the plain limit (long footage is not
    killed for its length); a hung file with no progress still times out after it."""
    ev = _folder(tmp_path, "long.mp4")
    (ev / "hang.jpg").write_bytes(b"whatever")

    s = run_ingest(new_case.ctx, [new_case.add_source(ev)], IngestOptions(workers=2, file_timeout=2.0),
                   worker=long_video_worker)
    items = {i["relpath"]: i for i in new_case.items()}
    failed = {k: (v["flags"], v["errors"]) for k, v in items.items() if v["status"] != "ok"}
    assert len(items) == 14 and s.failed == 1, failed
    assert items["long.mp4"]["status"] == "ok" and "timeout" not in (items["long.mp4"]["flags"] or "")
    assert items["hang.jpg"]["status"] == "error" and "timeout" in items["hang.jpg"]["flags"]


def test_deadline_without_progress_is_the_plain_limit(tmp_path):
    from forensics.ingest import deadline
    from forensics.ingest.records import FileTask

    task = FileTask(1, b"/ev", b"clip.mp4")
    opts = IngestOptions(file_timeout=5.0, timeout_per_media_second=30.0)
    folder = deadline.new_folder()
    try:
        assert deadline.allowed(opts, folder, task) == 5.0  # nothing reported: a hung worker gets no more
        deadline.init_worker(folder)
        seen = []

        def work(t, o):
            deadline.progress(12.0)
            seen.append(deadline.allowed(o, folder, t))
            return "done"

        assert deadline.run_task(work, task, opts) == "done"
        assert seen == [5.0 + 30.0 * 12.0]
        assert deadline.allowed(opts, folder, task) == 5.0  # the finished task's heartbeat is gone
        assert deadline.allowed(IngestOptions(file_timeout=5.0, timeout_per_media_second=0.0), folder, task) == 5.0
    finally:
        deadline.init_worker(None)
        deadline.remove_folder(folder)


def test_video_worker_reports_its_progress(tmp_path, monkeypatch):
    """The real per-file worker beats the heartbeat with the media time it has reached."""
    from forensics.ingest import deadline
    from forensics.ingest.records import FileTask
    from forensics.ingest.worker import process_file
    from test_follow import _clip

    clip = _clip(tmp_path / "clip.mp4", None, seconds=6.0)
    times: list[float] = []
    monkeypatch.setattr(deadline, "progress", times.append)
    res = process_file(FileTask(1, str(tmp_path).encode(), b"clip.mp4"), IngestOptions(workers=1))
    assert res.item["status"] == "ok" and res.item["kind"] == "video"
    assert times and times == sorted(times) and times[-1] >= 4.0
