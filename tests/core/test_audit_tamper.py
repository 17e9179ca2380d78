"""The tamper suite: each way of rewriting a real case's audit log, named by `audit verify`
given the examiner's witness file or a report of the case."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from forensics.case import Case
from forensics.cli import main
from forensics.examiners import witness_path
from forensics.ingest.pipeline import IngestOptions
from tamper import AUDIT_DDL, entries, forged_key, reguard, rewrite, unguarded


@pytest.fixture(scope="module")
def real_case(tmp_path_factory):
    """A case with real ingest, decisions and an HTML report; then two more decisions."""
    root = tmp_path_factory.mktemp("tamper")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        ev = root / "evidence"
        ev.mkdir()
        for i in range(4):
            Image.new("RGB", (80, 60), (40 * i, 200 - 30 * i, 90)).save(ev / f"photo_{i}.jpg")
        case = Case.create(root / "case", name="Tamper", number="TP-1", examiner="Tester", authority="Warrant 11/2026")
        case.ingest([ev], IngestOptions(workers=1, faces=False))
        ids = [i["id"] for i in case.items()]
        case.tag_items(ids[:2], category=1, bookmarked=True)
        case.tag_items(ids[2:], add_tags=["seen"])
        case.set_category_name(5, "Weapons")
        report = root / "report.html"
        case.reports.export(report, selection="bookmarked")
        case.tag_items(ids[:1], note="checked again")
        case.tag_items(ids[1:2], note="and again")
        n = case.store.scalar("SELECT MAX(seq) FROM audit_log")
        report_seq = case.audit_entries("report.export")[-1].seq - 1
        wit = witness_path("Tester")
        case.close()
    assert wit.is_file() and str(root / "config") in str(wit)
    return {"dir": root / "case", "witness": wit, "report": report, "n": n, "report_seq": report_seq}


def _copy(real_case, tmp_path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(real_case["dir"], dst)
    return dst


def _tampered(real_case, tmp_path, tamper) -> tuple[Path, int]:
    """A copy of the real case with `tamper` applied and the guards put back, and the
    entry verify must name."""
    case_dir = _copy(real_case, tmp_path)
    conn = unguarded(case_dir)
    expected = tamper(conn, real_case["n"])
    reguard(conn)
    conn.close()
    return case_dir, expected


def _verify(case_dir: Path, witness: Path | None, capsys) -> tuple[int, dict]:
    args = ["audit", "verify", str(case_dir), "--no-local-witness", "--json"]
    if witness is not None:
        args += ["--witness", str(witness)]
    code = main(args)
    return code, json.loads(capsys.readouterr().out)


def _seq_of(conn, action: str) -> int:
    return conn.execute("SELECT MIN(seq) FROM audit_log WHERE action LIKE ?", (action,)).fetchone()[0]


def cut_last(conn, n):
    conn.execute("DELETE FROM audit_log WHERE seq = ?", (n,))
    return n


def cut_last_three(conn, n):
    conn.execute("DELETE FROM audit_log WHERE seq > ?", (n - 3,))
    return n - 2


def delete_all(conn, n):
    conn.execute("DELETE FROM audit_log")
    return 1


def edit_and_rechain(conn, n):
    rows = entries(conn)
    k = _seq_of(conn, "item.tag")
    rows[k - 1][4] = rows[k - 1][4].replace('"category":1', '"category":2')
    rewrite(conn, rows)
    return k


def delete_middle_and_rechain(conn, n):
    rows = entries(conn)
    k = _seq_of(conn, "item.tag")
    del rows[k - 1]
    rewrite(conn, rows)
    return k


def swap_and_rechain(conn, n):
    rows = entries(conn)
    k = _seq_of(conn, "item.tag")
    rows[k - 1], rows[k] = rows[k], rows[k - 1]
    rewrite(conn, rows)
    return k


def drop_ingest_and_rechain(conn, n):
    k = _seq_of(conn, "ingest%")
    rewrite(conn, [r for r in entries(conn) if not r[3].startswith("ingest")])
    return k


def forged_key_edit(conn, n):
    rows = entries(conn)
    k = _seq_of(conn, "item.tag")
    rows[k - 1][4] = rows[k - 1][4].replace('"category":1', '"category":2')
    rewrite(conn, rows, forged_key("Tester"), start=k)
    return k


def forged_key_from_genesis(conn, n):
    rows = entries(conn)
    rows[4][4] = rows[4][4].replace('"category":1', '"category":2')
    rewrite(conn, rows, forged_key("Tester"))  # self-consistent: only the witness can tell
    return 1


def recreated_table(conn, n):
    rows = entries(conn)
    conn.execute("DROP TABLE audit_log")
    conn.execute(AUDIT_DDL)
    rewrite(conn, rows[:1], forged_key("Tester"))
    return 1


def edit_in_place(conn, n):
    conn.execute("UPDATE audit_log SET result = '{\"items\":99}' WHERE seq = ?", (_seq_of(conn, "item.tag"),))
    return _seq_of(conn, "item.tag")


def unparsable_entry(conn, n):
    k = _seq_of(conn, "item.tag")
    conn.execute("UPDATE audit_log SET params = '{not json' WHERE seq = ?", (k,))
    return k


TAMPERS = [cut_last, cut_last_three, delete_all, edit_and_rechain, delete_middle_and_rechain, swap_and_rechain,
           drop_ingest_and_rechain, forged_key_edit, forged_key_from_genesis, recreated_table, edit_in_place,
           unparsable_entry]


def test_untouched_copy_verifies_against_witness_and_report(real_case, tmp_path, capsys):
    case_dir = _copy(real_case, tmp_path)
    for w in (real_case["witness"], real_case["report"]):
        code, v = _verify(case_dir, w, capsys)
        assert code == 0 and v["ok"], v
        assert v["witness"]["points"] >= 1 and v["unsigned"] == 0
    code, v = _verify(case_dir, None, capsys)
    assert code == 0 and any("no witness point" in c for c in v["cannot_prove"])


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_tamper_is_named_given_the_witness_file(real_case, tmp_path, capsys, tamper):
    case_dir, expected = _tampered(real_case, tmp_path, tamper)
    code, v = _verify(case_dir, real_case["witness"], capsys)
    assert code == 3 and not v["ok"], v
    assert v["first_broken_seq"] == expected, v
    assert f"entry {expected}" in v["reason"] or f"entries {expected}" in v["reason"], v


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_tamper_is_named_given_a_report(real_case, tmp_path, capsys, tamper):
    """A report witnesses the head at its export: everything up to it is named, and what
    came after is stated as what verify cannot prove."""
    case_dir, expected = _tampered(real_case, tmp_path, tamper)
    code, v = _verify(case_dir, real_case["report"], capsys)
    if expected > real_case["report_seq"] and tamper in (cut_last, cut_last_three):
        # cut after the report's head: invisible to the report, and said so
        assert code == 0 and any(f"after the last witness point (entry {real_case['report_seq']})" in c
                                 for c in v["cannot_prove"]), v
        return
    assert code == 3 and v["first_broken_seq"] == min(expected, real_case["report_seq"] + 1), v


def test_without_a_witness_a_signature_still_names_edits_and_says_what_it_cannot_prove(real_case, tmp_path, capsys):
    case_dir, k = _tampered(real_case, tmp_path, swap_and_rechain)
    code, v = _verify(case_dir, None, capsys)
    assert code == 3 and v["first_broken_seq"] == k and v["kind"] in ("reordered", "rewritten")
    case_dir, _ = _tampered(real_case, tmp_path / "b", forged_key_from_genesis)
    code, v = _verify(case_dir, None, capsys)
    assert code == 0 and any("rewritten from the genesis with a new key" in c for c in v["cannot_prove"])


@pytest.mark.parametrize("table, kind", [("audit_log", "missing_table"), ("case_info", "unreadable")])
def test_missing_table_is_a_verdict_not_a_traceback(real_case, tmp_path, capsys, table, kind):
    case_dir = _copy(real_case, tmp_path)
    conn = unguarded(case_dir)
    conn.execute(f"DROP TABLE {table}")
    conn.close()
    code, v = _verify(case_dir, real_case["witness"], capsys)
    assert code == 3 and v["kind"] == kind and v["first_broken_seq"] == 1
    code = main(["audit", "verify", str(case_dir), "--no-local-witness"])
    assert code == 3 and "AUDIT LOG BROKEN at entry 1" in capsys.readouterr().out


def test_triggers_refuse_update_and_delete(real_case, tmp_path):
    case_dir = _copy(real_case, tmp_path)
    conn = sqlite3.connect(case_dir / "case.sqlite", isolation_level=None)
    for sql in ("UPDATE audit_log SET examiner = 'x' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    assert conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == real_case["n"]


@pytest.mark.parametrize("fmt", ["pdf", "csv", "vics"])
def test_every_report_format_and_the_vics_export_carry_the_signed_head(tmp_path, capsys, fmt):
    from forensics.examiners import head_valid, read_heads

    case = Case.create(tmp_path / "case", name="Formats", number="F-2", examiner="Tester", authority="Order 3")
    ev = tmp_path / "ev"
    ev.mkdir()
    Image.new("RGB", (40, 40), (1, 2, 3)).save(ev / "a.png")
    case.ingest([ev], IngestOptions(workers=1, faces=False))
    case.tag_items([case.items()[0]["id"]], bookmarked=True)
    out = tmp_path / f"export.{'json' if fmt == 'vics' else fmt}"
    if fmt == "vics":
        case.export_vics(out)
    else:
        case.reports.export(out, selection="bookmarked")
    heads, problems = read_heads(out)
    assert not problems and len(heads) == 1 and head_valid(heads[0])
    assert heads[0]["case_id"] == case.info["case_id"] and heads[0]["examiner"] == "Tester"
    k = heads[0]["seq"]
    case_dir = case.path
    case.close()
    code, v = _verify(case_dir, out, capsys)
    assert code == 0 and v["witness"]["last_seq"] == k
    conn = unguarded(case_dir)
    rows = entries(conn)
    rows[1][4] = rows[1][4].replace("ev", "elsewhere")
    rewrite(conn, rows)
    reguard(conn)
    conn.close()
    code, v = _verify(case_dir, out, capsys)
    assert code == 3 and v["first_broken_seq"] == 2


def test_a_case_from_before_signing_says_which_entries_are_unsigned(tmp_path, capsys):
    """An old case (schema 3, plain hash chain) opens, keeps its history explainable, and
    signs from then on; an unsigned entry slipped in after signing began is named."""
    from forensics import audit
    from forensics.store.db import migrations

    path = tmp_path / "old"
    path.mkdir()
    conn = sqlite3.connect(path / "case.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_utc TEXT NOT NULL)")
    for version, name, sql in migrations()[:3]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_version VALUES (?, ?, '2026-01-01')", (version, name))
    conn.execute("INSERT INTO case_info (id, name, number, examiner, authority, created_utc, tool_version)"
                 " VALUES (1, 'Old', 'O-1', 'Old Examiner', 'Order 1', '2026-01-01', '0.1')")

    def old_append(seq: int, action: str, prev: str) -> str:
        t, p, r = f"2026-01-01T00:00:0{seq}Z", audit.canonical({"n": seq}), "{}"
        h = audit.entry_hash(seq, t, "Old Examiner", action, p, r, prev)
        conn.execute("INSERT INTO audit_log (seq, time_utc, examiner, action, params, result, prev_hash, entry_hash)"
                     " VALUES (?, ?, 'Old Examiner', ?, ?, ?, ?, ?)", (seq, t, action, p, r, prev, h))
        return h

    prev = old_append(1, "case.create", audit.GENESIS)
    for seq in (2, 3):
        prev = old_append(seq, "item.tag", prev)
    conn.close()
    with Case.open(path, examiner="New Examiner") as case:
        case.log("item.tag", {"n": 4}, {})
        v = case.verify_audit(local_witness=False)
        assert v.ok and v.unsigned == 3 and v.entries == 6
        assert any(c.startswith("entries 1..3 are unsigned") for c in v.cannot_prove)
        assert [e.action for e in case.audit_entries()][3:] == ["examiner.key", "examiner.switch", "item.tag"]
    conn = unguarded(path)
    row = conn.execute("SELECT entry_hash FROM audit_log WHERE seq = 6").fetchone()
    t, p = "2026-02-01T00:00:00Z", audit.canonical({"forged": True})
    h = audit.entry_hash(7, t, "New Examiner", "item.tag", p, "{}", row[0])
    conn.execute("INSERT INTO audit_log (seq, time_utc, examiner, action, params, result, prev_hash, entry_hash)"
                 " VALUES (7, ?, 'New Examiner', 'item.tag', ?, '{}', ?, ?)", (t, p, row[0], h))
    conn.close()
    code, v = _verify(path, None, capsys)
    assert code == 3 and v["first_broken_seq"] == 7 and v["kind"] == "unsigned"

