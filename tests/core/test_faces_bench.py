"""bench/faces.py still runs end to end (figures are recorded in docs/benchmarks.md, not checked here)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_faces_quick(tmp_path):
    out = tmp_path / "faces.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "faces.py"), "--quick", "--skip-detect", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = json.loads(out.read_text())
    s = res["search"][0]
    assert s["n"] == 5000 and all(v["recall_at_10"] >= 0.99 for v in s["by_ef"].values())
    c = res["cluster"]
    assert c["n"] == 6000 and c["bcubed"]["f"] >= 0.95 and c["run"]["clusters"] > 100
    assert "p50" in proc.stdout and "BCubed" in proc.stdout
