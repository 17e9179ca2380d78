"""Ingest on real data: hashes, types, EXIF, video frames, resumability."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kill_runs import assert_one_record_per_file

from forensics.case import Case
from forensics.ingest.pipeline import IngestOptions


def _digests(path: Path) -> tuple[str, str, str]:
    data = path.read_bytes()
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


def test_ingest_shared_data_hashes_exif_video(new_case, shared_data):
    # the test material (labelled photos, Johns, scenes, clips); lfw/ and fiw/ are the
    # calibration population, 20,000 files that other benchmarks read
    sources = [shared_data / "faces", shared_data / "video"]
    s = new_case.ingest(sources, IngestOptions(workers=2))
    files = sorted(p for src in sources for p in src.rglob("*") if p.is_file())
    assert s.added == len(files) and s.failed == 0
    items = {i["path"]: i for i in new_case.items(include_frames=False)}
    assert len(items) == len(files)
    for p in files:
        it = items[str(p)]
        assert (it["md5"], it["sha1"], it["sha256"]) == _digests(p)
        assert it["size"] == p.stat().st_size
    obama = items[str(shared_data / "faces/labeled/obama/obama.jpg")]
    assert obama["kind"] == "image" and obama["mime"] == "image/jpeg"
    assert obama["camera_make"] == "Canon" and obama["camera_model"] == "Canon EOS 5D Mark III"
    assert obama["taken_time"] == "2012-12-06T15:46:01"
    assert obama["phash"] and obama["dhash"] and obama["width"] > 0
    assert new_case.thumb_path(obama["id"]).is_file()
    png = items[str(shared_data / "faces/labeled/alex_lacamoire/alex-lacamoire.png")]
    assert png["mime"] == "image/png" and png["status"] == "ok"

    clip = items[str(shared_data / "video/short_hamilton_clip.mp4")]
    assert clip["kind"] == "video" and clip["codec"] == "h264"
    assert clip["duration"] == pytest.approx(9.2, abs=0.1)
    assert (clip["width"], clip["height"]) == (640, 360)
    assert clip["fps"] == pytest.approx(29.97, abs=0.01)
    frames = new_case.frames(clip["id"])
    times = [f["frame_time"] for f in frames]
    assert len(frames) >= 10 and times == sorted(times) and times[0] == 0.0 and times[-1] >= 9.0
    assert all(f["phash"] and new_case.thumb_path(f["id"]).is_file() for f in frames)
    avi = items[str(shared_data / "video/overhead_crowd.avi")]
    assert avi["mime"] == "video/x-msvideo" and avi["duration"] == pytest.approx(13.6, abs=0.1)
    assert avi["fps"] == pytest.approx(50, abs=0.01) and len(new_case.frames(avi["id"])) >= 13

    again = new_case.ingest(sources, IngestOptions(workers=2))
    assert again.added == 0 and again.skipped == len(files)
    assert new_case.store.scalar("SELECT COUNT(*) FROM items WHERE parent_id IS NULL") == len(files)


def test_sample_evidence_every_file_recorded(new_case, tmp_path):
    from sample_cases.build import build_sample_evidence

    ev = build_sample_evidence(tmp_path / "evidence")
    s = new_case.ingest([ev], IngestOptions(workers=1))
    n_files = sum(1 for _ in _walk_no_follow(ev))
    assert s.added == n_files
    by_name = {os.path.basename(i["path"]): i for i in new_case.items(include_frames=False)}
    assert by_name["invoice.txt"]["kind"] == "image" and "ext_mismatch" in by_name["invoice.txt"]["flags"]
    assert by_name["hopper_copy.jpg"]["sha256"] == by_name["IMG_0002.jpg"]["sha256"]
    assert by_name["IMG_0003.heic"]["mime"] == "image/heic" and by_name["IMG_0003.heic"]["phash"]
    gps = by_name["IMG_0001.jpg"]
    assert gps["gps_lat"] == pytest.approx(28.5729, abs=1e-3) and gps["gps_lon"] == pytest.approx(-80.649, abs=1e-3)
    assert gps["camera_model"] == "iPhone 12"
    assert "blank" in by_name["blank.png"]["flags"]
    video = by_name["camera1_2024-05-01.mp4"]
    assert video["duration"] == pytest.approx(4.0, abs=0.1) and len(new_case.frames(video["id"])) >= 4


def _walk_no_follow(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            yield os.path.join(dirpath, n)


def _make_jpegs(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(n):
        arr = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"img_{i:04d}.jpg", quality=80)


def test_ingest_killed_with_sigkill_resumes_without_duplicates(tmp_path):
    ev = tmp_path / "ev"
    _make_jpegs(ev, 400)
    case_dir = tmp_path / "case"
    Case.create(case_dir, name="K", number="K-1", examiner="T", authority="Order 7").close()
    cmd = [sys.executable, "-m", "forensics.cli", "ingest", str(case_dir), str(ev), "--workers", "2", "--no-faces"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    case = Case.open(case_dir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        n = case.store.scalar("SELECT COUNT(*) FROM items")
        if n and n >= 40:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes, mid-run
    proc.wait()
    partial = case.store.scalar("SELECT COUNT(*) FROM items")
    assert 0 < partial < 400, partial
    s = case.ingest([ev], IngestOptions(workers=2))
    assert s.skipped == partial and s.added == 400 - partial
    assert_one_record_per_file(case.store, 400)
    for r in case.store.query("SELECT relpath, sha256 FROM items"):
        assert r[1] == hashlib.sha256((ev / r[0]).read_bytes()).hexdigest()
    case.close()


def test_evidence_is_never_modified(new_case, tmp_path):
    ev = tmp_path / "ev"
    _make_jpegs(ev, 5)
    before = {p: (p.stat().st_mtime_ns, p.stat().st_atime_ns, p.read_bytes()) for p in ev.iterdir()}
    os.sync()
    before = {p: (p.stat().st_mtime_ns, p.stat().st_atime_ns, v[2]) for p, v in before.items()}
    new_case.ingest([ev], IngestOptions(workers=1))
    for p, (mtime, atime, data) in before.items():
        st = p.stat()
        assert st.st_mtime_ns == mtime and st.st_atime_ns == atime
        assert p.read_bytes() == data
    assert not any(new_case.path.rglob("img_0000.jpg")), "the case must not hold copies of evidence"


def test_cli_json_outputs(tmp_path):
    ev = tmp_path / "ev"
    _make_jpegs(ev, 3)
    import json

    def run(*args):
        out = subprocess.run([sys.executable, "-m", "forensics.cli", *args], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    case_dir = str(tmp_path / "c")
    run("case", "create", case_dir, "--name", "N", "--number", "1", "--examiner", "E", "--authority", "W-1", "--json")
    s = run("ingest", case_dir, str(ev), "--no-faces", "--workers", "1", "--json")
    assert s["added"] == 3
    info = run("info", case_dir, "--json")
    assert info["files"] == 3 and info["by_kind"] == {"image": 3} and info["case"]["authority"] == "W-1"
    items = run("items", case_dir, "--json")
    assert items["count"] == 3 and all(len(i["sha256"]) == 64 for i in items["items"])
    v = run("audit", "verify", case_dir, "--json")
    assert v["ok"] and v["entries"] >= 3


def test_case_requires_authority(tmp_path):
    from forensics.model import CaseError

    with pytest.raises(CaseError, match="authority"):
        Case.create(tmp_path / "c", name="N", number="1", examiner="E", authority="  ")
    r = subprocess.run([sys.executable, "-m", "forensics.cli", "case", "create", str(tmp_path / "d"), "--name", "N",
                        "--number", "1", "--examiner", "E"], capture_output=True, text=True)
    assert r.returncode != 0 and "--authority" in r.stderr
