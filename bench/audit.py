"""What the signed, witnessed audit trail costs: append and verify, against the unsigned
hash chain it replaced (measured in the same run, on the same machine).

    uv run python bench/audit.py [--entries 2000] [--json out.json]

Baseline: the format-1 append (SHA-256 chain, no signature, no witness) and its verify,
re-implemented here exactly as the project had them. Signed: `Case.log` (Ed25519 signature,
then the signed head appended and fsynced to the examiner's witness file after commit) and
`Case.verify_audit` against that witness file. Keys and witness files go to a temporary
config folder, never the user's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine_line, table, timed  # noqa: E402


def _baseline_append(conn, seq: int, prev: str) -> str:
    from forensics import audit

    now = audit.utc_now()
    p, r = audit.canonical({"i": seq, "items": list(range(20))}), audit.canonical({"ok": True})
    h = audit.entry_hash(seq, now, "Bench", "bench.action", p, r, prev)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO old_log VALUES (?, ?, 'Bench', 'bench.action', ?, ?, ?, ?)", (seq, now, p, r, prev, h))
    conn.execute("COMMIT")
    return h


def _baseline_verify(conn) -> bool:
    from forensics import audit

    prev = audit.GENESIS
    for seq, t, ex, act, p, r, ph, eh in conn.execute("SELECT * FROM old_log ORDER BY seq"):
        if ph != prev or audit.entry_hash(seq, t, ex, act, p, r, ph) != eh:
            return False
        prev = eh
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="forensics-bench-audit-"))
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    import sqlite3

    from forensics.case import Case
    from forensics.examiners import witness_path

    n = a.entries
    old = sqlite3.connect(work / "old.sqlite", isolation_level=None)
    old.execute("PRAGMA journal_mode = WAL")
    old.execute("PRAGMA synchronous = NORMAL")
    old.execute("CREATE TABLE old_log (seq INTEGER PRIMARY KEY, time_utc TEXT, examiner TEXT, action TEXT,"
                " params TEXT, result TEXT, prev_hash TEXT, entry_hash TEXT)")
    prev = "0" * 64
    with timed() as t_old:
        for i in range(1, n + 1):
            prev = _baseline_append(old, i, prev)
    with timed() as t_old_verify:
        assert _baseline_verify(old)

    case = Case.create(work / "case", name="Bench", number="B-1", examiner="Bench", authority="Benchmark only")
    with timed() as t_new:
        for i in range(n - 1):  # the genesis is the first entry
            case.log("bench.action", {"i": i, "items": list(range(20))}, {"ok": True})
    wit = witness_path("Bench")
    with timed() as t_new_verify:
        v = case.verify_audit([wit], local_witness=False)
    assert v.ok and v.entries == n and v.witness["points"] == n, v
    case.close()

    res = {"entries": n, "machine": machine_line(), "load": os.getloadavg()[0],
           "baseline_append_per_s": n / t_old.seconds, "signed_append_per_s": n / t_new.seconds,
           "baseline_verify_s": t_old_verify.seconds, "signed_verify_s": t_new_verify.seconds,
           "witness_bytes_per_entry": wit.stat().st_size / n}
    print(machine_line(), f"(load {res['load']:.1f})")
    print(table([
        ["append (one entry per transaction)", f"{res['baseline_append_per_s']:,.0f}/s",
         f"{res['signed_append_per_s']:,.0f}/s",
         f"{1e3 * t_new.seconds / n - 1e3 * t_old.seconds / n:+.2f} ms/entry"],
        [f"verify {n:,} entries", f"{t_old_verify.seconds:.2f} s", f"{t_new_verify.seconds:.2f} s",
         "signatures + witness points"],
        ["witness file", "-", f"{res['witness_bytes_per_entry']:.0f} B/entry", "outside the case"],
    ], ["", "unsigned chain (baseline)", "signed + witnessed", "cost"]))
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
