"""Evidence untouched: access times and bytes of every evidence file are the same after
ingest (with faces and video), face analysis, copy grouping, search by item, a report
and verification."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from forensics.case import Case
from forensics.ingest.records import IngestOptions

OLD_ATIME = 1_500_000_000 * 10**9  # 2017: before mtime, so relatime would update it on any read
OLD_MTIME = 1_600_000_000 * 10**9


def _evidence(root: Path) -> Path:
    from PIL import Image

    from sample_cases.build import astronaut
    from test_media_formats import _clip

    root.mkdir()
    face = astronaut()
    face.save(root / "face.png")
    face.resize((400, 400)).save(root / "face_small.jpg", quality=90)  # a visual copy
    (root / "notes.txt").write_text("nothing here")
    Image.radial_gradient("L").save(root / "grad.png")
    _clip(root / "cam.mp4", None, "libx264", seconds=1.0)
    for p in root.iterdir():
        os.utime(p, ns=(OLD_ATIME, OLD_MTIME))
    return root


def _state(root: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for p in sorted(root.iterdir()):
        st = os.stat(p)
        with open(p, "rb") as f:  # read after stat: this read itself may move atime
            digest = hashlib.sha256(f.read()).hexdigest()
        out[p.name] = (st.st_atime_ns, digest)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # undo our own read
    return out


def test_access_times_and_bytes_unchanged_through_every_step(tmp_path: Path) -> None:
    ev = _evidence(tmp_path / "ev")
    before = _state(ev)
    assert all(a == OLD_ATIME for a, _ in before.values())
    case = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="w")
    changed: dict[str, list[str]] = {}

    def step(name: str, fn) -> None:
        fn()
        now = _state(ev)
        moved = [f for f in before if now[f] != before[f]]
        if moved:
            changed[name] = moved
            for f in moved:  # reset so the next step is judged on its own
                os.utime(ev / f, ns=(OLD_ATIME, OLD_MTIME))

    step("ingest", lambda: case.ingest([ev], IngestOptions(workers=1, faces=True)))
    face_id = next(i["id"] for i in case.items() if i["relpath"] == "face.png")
    step("faces analyze", lambda: case.faces.analyze())
    step("copies", lambda: case.copies.group())
    step("similar", lambda: case.copies.similar(item_id=face_id))
    step("preview", lambda: case.preview(face_id))
    case.tag_items([i["id"] for i in case.items(include_frames=False)], bookmarked=True)
    step("report", lambda: case.export_report(tmp_path / "r.html"))
    step("verify", lambda: case.verify())
    case.close()
    assert changed == {}


def test_a_changed_file_is_reported_and_not_analysed(tmp_path: Path) -> None:
    from PIL import Image

    from sample_cases.build import astronaut

    ev = tmp_path / "ev"
    ev.mkdir()
    astronaut().save(ev / "face.png")
    case = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="w")
    case.ingest([ev], IngestOptions(workers=1, faces=False))
    (item,) = case.items(kind="image")
    Image.radial_gradient("L").convert("RGB").resize((512, 512)).save(ev / "face.png")  # swapped after ingest
    thumb = case.thumb_path(item["id"])
    assert case.preview(item["id"]) == thumb  # changed: the ingest thumbnail, not the new bytes
    res = case.faces.analyze()
    assert res["failed"] == 1 and res["faces"] == 0
    errors = [e["message"] for e in case.item(item["id"])["errors"]]
    assert any("evidence changed since it was catalogued" in m for m in errors), errors
    assert case.store.scalar("SELECT COUNT(*) FROM faces") == 0
    case.close()


def test_access_times_that_cannot_be_preserved_are_stated_once_in_the_run(tmp_path: Path) -> None:
    """As an account without CAP_FOWNER reading files it does not own, O_NOATIME is
    refused: the run says so once, in its record."""
    import json
    import shutil
    import subprocess
    import sys
    import tempfile

    import pytest

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (to own the evidence) and setpriv (to run as an account that does not)")
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
    if subprocess.run([*drop, sys.executable, "-c", "import forensics"], capture_output=True, cwd="/").returncode:
        pytest.skip("the unprivileged account cannot run this Python (its installation is not readable to it)")
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="i12-noatime-"))
    try:
        os.chmod(base, 0o755)
        home = base / "home"  # the account's own keys and settings
        home.mkdir(mode=0o777)
        os.chmod(home, 0o777)
        ev = base / "ev"
        ev.mkdir(mode=0o755)
        for n in range(3):
            (ev / f"f{n}.txt").write_text(f"file {n}")
            os.chmod(ev / f"f{n}.txt", 0o644)
        case_dir = base / "case"
        case_dir.mkdir(mode=0o777)
        os.chmod(case_dir, 0o777)
        cli = [sys.executable, "-m", "forensics.cli"]
        made = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                        *cli, "case", "create", str(case_dir / "c"), "--name", "n", "--number", "1",
                        "--examiner", "e", "--authority", "w"], capture_output=True, text=True,
                       env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}, cwd="/")
        if made.returncode:
            pytest.skip(f"the unprivileged account cannot create a case here: {made.stderr.strip()[-200:]}")
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                            *cli, "ingest", str(case_dir / "c"), str(ev), "--workers", "1", "--no-faces",
                            "--no-analysis", "--json"], capture_output=True, text=True, env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        assert out["noatime_refused"] == 3
        assert p.stderr.count("could not be preserved") == 1
        c = Case.open(case_dir / "c", readonly=True)
        notes = [r[0] for r in c.store.query("SELECT notes FROM ingest_runs")]
        assert len(notes) == 1 and "access times of 3 evidence file(s) could not be preserved" in notes[0]
        assert "could not be preserved" in c.audit_entries("ingest.end")[-1].result["note"]
        c.close()
        v = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                            *cli, "verify", str(case_dir / "c"), "--json"], capture_output=True, text=True,
                           env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
        res = json.loads(v.stdout)
        assert res["status"] == "intact" and "access times of 3 evidence file(s)" in res["note"]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_preview_is_rendered_outside_the_calling_process_and_cached(tmp_path: Path) -> None:
    from PIL import Image

    from forensics.preview import PREVIEW_DIR

    ev = tmp_path / "ev"
    ev.mkdir()
    Image.radial_gradient("L").convert("RGB").resize((3000, 2000)).save(ev / "big.png")
    case = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="w")
    case.ingest([ev], IngestOptions(workers=1))
    (item,) = case.items(kind="image")
    import forensics.preview as preview_mod

    p = case.preview(item["id"], 800)
    assert p is not None and PREVIEW_DIR in p.parts and Image.open(p).size == (800, 533)
    assert p == case.preview(item["id"], 800)  # from the cache
    workers = list(preview_mod._pool._processes.values())  # decoded in a worker process, not here
    assert len(workers) == 1 and workers[0].pid != os.getpid() and workers[0].is_alive()
    case.close()
