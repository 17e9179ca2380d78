"""The ingest benchmark still runs end to end (its figures are not checked: see docs/benchmarks.md)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_ingest_quick(tmp_path):
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest.py"), "--quick", "--workdir", str(tmp_path / "work"),
         "--json", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "files/s" in proc.stdout and "naive baseline" in proc.stdout
    res = json.loads(out.read_text())
    for run, n in (("ingest_half", 2), ("ingest_full", 4)):
        assert res[run]["files"] == n and res[run]["failed"] == 0 and res[run]["errors"] == 0
        assert res[run]["thumbs"] == n
        assert 0 < res[run]["worker_peak_mib"] < 2048
    assert res["baseline"]["files"] == 2 and res["baseline"]["seconds"] > 0
    assert res["startup"]["ok"]
    assert res["stages"]["process_file (all of it)"] > 0 and res["stages"]["naive: full decode"] > 0
    if "video" in res:  # ../shared present
        assert res["video"]["files"] == 1 and res["video"]["frames"] > 0 and res["video_baseline"]["frames"] > 0
