"""Case store and the tamper-evident audit log."""
from __future__ import annotations

import ast
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from forensics import audit
from forensics.case import Case
from forensics.model import CaseError
from forensics.store.db import Store, migrations
from tamper import unguarded

ROOT = Path(__file__).resolve().parents[2]


def test_case_folder_layout_and_wal(new_case):
    for sub in ("thumbs", "index", "reports"):
        assert (new_case.path / sub).is_dir()
    assert new_case.store.scalar("PRAGMA journal_mode") == "wal"
    versions = [r[0] for r in new_case.store.query("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m[0] for m in migrations()]
    assert new_case.info["authority"] == "Warrant 2026/123 (test)"


def test_reopen_does_not_reapply_migrations(new_case):
    path = new_case.path
    new_case.close()
    c = Case.open(path)
    assert c.store.scalar("SELECT COUNT(*) FROM schema_version") == len(migrations())
    with pytest.raises(CaseError):
        Case.create(path, name="x", number="1", examiner="e", authority="w")
    c.close()


def test_failed_migration_leaves_database_unchanged(tmp_path, monkeypatch):
    import forensics.store.db as db

    good = migrations()
    bad = good + [(len(good) + 1, f"{len(good) + 1:04d}_broken.sql", "CREATE TABLE half (x); THIS IS NOT SQL;")]
    store = Store(tmp_path / "a.sqlite")
    store.close()
    monkeypatch.setattr(db, "migrations", lambda: bad)
    with pytest.raises(db.SchemaError):
        Store(tmp_path / "a.sqlite")
    conn = sqlite3.connect(tmp_path / "a.sqlite")
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == len(good)
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'").fetchone()[0] == 0
    assert (tmp_path / f"a.sqlite.v{len(good)}.bak").exists()


def test_audit_chain_verifies_and_detects_edits(new_case):
    for i in range(5):
        new_case.log("test.action", {"i": i}, {"ok": True})
    rep = new_case.verify_audit()
    assert rep.ok and rep.entries == 6 and rep.first_broken is None
    conn = sqlite3.connect(new_case.path / "case.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET params = '{\"i\":99}' WHERE seq = 4")
    conn.close()
    conn = unguarded(new_case.path)
    conn.execute("UPDATE audit_log SET params = '{\"i\":99}' WHERE seq = 4")
    rep = new_case.verify_audit()
    assert not rep.ok and rep.first_broken == 4 and "edited" in rep.reason
    r = subprocess.run([sys.executable, "-m", "forensics.cli", "audit", "verify", str(new_case.path)], capture_output=True, text=True)
    assert r.returncode == 3 and "entry 4" in r.stdout


def test_audit_chain_detects_deleted_entry(new_case):
    for i in range(3):
        new_case.log("a", {"i": i}, {})
    conn = sqlite3.connect(new_case.path / "case.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE seq = 2")
    conn.close()
    unguarded(new_case.path).execute("DELETE FROM audit_log WHERE seq = 2")
    rep = audit.verify(new_case.store.read)
    # the removed entry itself is named, not the one after the gap
    assert not rep.ok and rep.first_broken == 2 and "removed" in rep.reason


def test_every_change_is_audited(new_case, tmp_path):
    from PIL import Image

    ev = tmp_path / "ev"
    ev.mkdir()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(ev / "a.png")
    new_case.ingest([ev])
    item = new_case.items()[0]["id"]
    before = new_case.tag_items([item], category=1, add_tags=["weapon"], note="seen", bookmarked=True)
    it = new_case.item(item)
    assert (it["category"], it["tags"], it["note"], it["bookmarked"]) == (1, ["weapon"], "seen", True)
    new_case.restore_items(before)
    it = new_case.item(item)
    assert (it["category"], it["tags"], it["note"], it["bookmarked"]) == (None, [], None, False)
    actions = [e.action for e in new_case.audit_entries()]
    assert actions == ["case.create", "source.add", "ingest.start", "ingest.end", "item.tag", "item.undo"]
    assert all(e.examiner == "Tester" for e in new_case.audit_entries())
    assert new_case.verify_audit().ok


def test_core_never_imports_qt_or_gui():
    """The layering rule, checked two ways: statically over every module, and by importing."""
    offenders = []
    for py in (ROOT / "forensics").rglob("*.py"):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{py.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("PyQt6", "gui")]
    assert not offenders, offenders
    code = ("import sys, pkgutil, importlib, forensics\n"
            "for m in pkgutil.walk_packages(forensics.__path__, 'forensics.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'gui')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_import_linter_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_help_is_fast_and_lists_commands():
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "forensics.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "ingest" in r.stdout
    heavy = [m for m in ("face_recognition", "dlib", "hnswlib", "av", "reportlab") if f" {m}\n" in r.stderr or f"| {m}\n" in r.stderr]
    assert not heavy, f"--help imported heavy modules: {heavy}"
