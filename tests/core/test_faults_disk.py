"""A full disk and a read-only case folder: one clear message, a consistent case, and the
read-only commands still working."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from forensics.case import Case
from forensics.ingest.records import IngestOptions
from forensics.model import CaseError

HERE = Path(__file__).resolve().parent


def _evidence(root: Path, n: int = 40) -> Path:
    from PIL import Image
    import numpy as np

    root.mkdir()
    rng = np.random.default_rng(5)
    for i in range(n):  # noise compresses badly: every thumbnail costs real space
        Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(root / f"p{i:02}.png")
    return root


def _namespace_ok() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _namespace_ok(), reason="needs unshare with user and mount namespaces (a private tmpfs)")
def test_ingest_on_a_small_full_filesystem_then_space_freed(tmp_path: Path) -> None:
    ev = _evidence(tmp_path / "ev")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    (tmp_path / "other").mkdir()
    script = (f"mount -t tmpfs -o size=8m tmpfs {mnt} && "
              f"{sys.executable} {HERE / 'full_disk_scenario.py'} {mnt} {ev} {tmp_path / 'other'}")
    p = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                       capture_output=True, text=True, timeout=600, cwd=HERE.parents[1])
    assert p.returncode == 0, p.stderr
    obs = json.loads(p.stdout)
    assert obs["create"]["rc"] == 0
    full = obs["ingest_full"]
    # One clear message, no traceback.
    assert full["rc"] == 1, full
    assert "Traceback" not in full["err"]
    assert full["err"].count("forensics: error:") == 1 and "disk holding the case is full" in full["err"]
    assert obs["free_bytes_when_full"] < 64 << 10
    for name in ("info", "items", "audit_verify"):
        assert obs[name]["rc"] == 0 and "Traceback" not in obs[name]["err"], (name, obs[name])
    partial = json.loads(obs["info"]["out"])["files"]
    assert 0 < partial < 40
    assert json.loads(obs["items"]["out"])["count"] == partial
    assert json.loads(obs["audit_verify"]["out"])["ok"] is True
    v = obs["verify"]
    assert v["rc"] == 0 and json.loads(v["out"])["status"] == "intact", v
    r = obs["report"]
    assert r["rc"] == 0 and "Traceback" not in r["err"], r
    assert json.loads(r["out"])["items"] == partial and (tmp_path / "other" / "r.html").stat().st_size > 0
    # Space freed: the re-run finishes the job exactly.
    again = json.loads(obs["ingest_again"]["out"])
    assert obs["ingest_again"]["rc"] == 0
    assert again["added"] == 40 - partial and again["skipped"] == partial
    info = json.loads(obs["info_after"]["out"])
    assert info["files"] == 40 and info["errors"] == 0
    assert json.loads(obs["audit_after"]["out"])["ok"] is True
    runs = [e["result"] for e in json.loads(obs["runs"]["out"])["entries"] if e["action"] == "ingest.end"]
    assert runs[0]["status"] == "failed" and "full" in runs[0]["error"]
    assert runs[-1]["status"] == "finished" and not runs[-1]["error"]


def test_read_only_case_folder(tmp_path: Path) -> None:
    """The case folder on read-only media (a read-only bind mount, or no write permission):
    reading commands work; a writing one ends with one clear message."""
    ev = _evidence(tmp_path / "ev", 3)
    case_dir = tmp_path / "case"
    c = Case.create(case_dir, name="n", number="1", examiner="e", authority="w")
    c.ingest([ev], IngestOptions(workers=1))
    c.close()
    (ev / "new.txt").write_text("new")
    f = f"{sys.executable} -m forensics.cli"
    steps = (f"{f} info {case_dir} --json > {tmp_path}/info.out 2> {tmp_path}/info.err; echo $? > {tmp_path}/info.rc; "
             f"{f} ingest {case_dir} {ev} --workers 1 --no-faces > {tmp_path}/ing.out 2> {tmp_path}/ing.err;"
             f" echo $? > {tmp_path}/ing.rc")
    if _namespace_ok():
        cmd = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
               f"mount --bind {case_dir} {case_dir} && mount -o remount,ro,bind {case_dir} && {steps}"]
    elif os.geteuid() != 0:
        for d, dirs, files in os.walk(case_dir):
            for x in files:
                os.chmod(os.path.join(d, x), 0o444)
            os.chmod(d, 0o555)
        cmd = ["sh", "-c", steps]
    else:
        pytest.skip("root without mount namespaces ignores folder permissions")
    subprocess.run(cmd, check=True, timeout=300, cwd=HERE.parents[1])
    read = lambda name: (tmp_path / name).read_text()  # noqa: E731
    assert read("info.rc").strip() == "0", read("info.err")
    assert json.loads(read("info.out"))["files"] == 3
    assert read("ing.rc").strip() == "1", read("ing.err")
    err = read("ing.err")
    assert "Traceback" not in err and err.count("forensics: error:") == 1 and "read-only" in err, err
    with Case.open(case_dir, readonly=True) as ro, pytest.raises(CaseError, match="read-only"):
        ro.log("x", {}, {})
