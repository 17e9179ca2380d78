"""What an outsider with write access to a case file can do to its audit log.

The append-only triggers stop the tool's own connections and careless edits; someone
editing the file directly can drop them first, so every tamper here starts that way."""
from __future__ import annotations

import sqlite3
from pathlib import Path


def unguarded(case_dir: Path) -> sqlite3.Connection:
    """A raw connection to the case database with the audit guards dropped."""
    conn = sqlite3.connect(Path(case_dir) / "case.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    return conn


def reguard(conn: sqlite3.Connection) -> None:
    """Put the guards back, as a careful attacker would, so only the chain can tell."""
    conn.execute("CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log"
                 " BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END")
    conn.execute("CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log"
                 " BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END")


AUDIT_DDL = ("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, time_utc TEXT NOT NULL, examiner TEXT NOT NULL,"
             " action TEXT NOT NULL, params TEXT NOT NULL, result TEXT NOT NULL, prev_hash TEXT NOT NULL,"
             " entry_hash TEXT NOT NULL, key_id TEXT, signature TEXT)")


def forged_key(examiner: str):
    """A key the attacker made: same examiner name, not the examiner's key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from forensics.examiners import ExaminerKey, key_id_of

    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return ExaminerKey(examiner, raw.hex(), key_id_of(raw), private)


def entries(conn: sqlite3.Connection) -> list[list]:
    """Every entry's content: [time, examiner, key_id, action, params, result, signature]."""
    return [list(r) for r in conn.execute(
        "SELECT time_utc, examiner, key_id, action, params, result, signature FROM audit_log ORDER BY seq")]


def rewrite(conn: sqlite3.Connection, rows: list[list], key=None, start: int = 1) -> None:
    """Renumber `rows` and recompute the chain with the project's own hash; keep each
    entry's old signature (the attacker has no key) or re-sign from `start` with `key`."""
    import json

    from forensics import audit

    case_id = conn.execute("SELECT case_id FROM case_info").fetchone()[0]
    conn.execute("DELETE FROM audit_log")
    prev = audit.GENESIS
    for seq, (t, ex, kid, act, p, r, sig) in enumerate(rows, 1):
        if key is not None and seq >= start:
            kid = key.key_id
            if act in (audit.GENESIS_ACTION, audit.KEY_ACTION):
                p = audit.canonical({**json.loads(p), "key_id": key.key_id, "public_key": key.public_hex})
        h = audit.signed_hash(case_id, seq, t, ex, kid, act, p, r, prev)
        if key is not None and seq >= start:
            sig = key.sign(audit.signature_message(h))
        conn.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (seq, t, ex, act, p, r, prev, h, kid, sig))
        prev = h
