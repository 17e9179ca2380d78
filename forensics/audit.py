"""Tamper-evident audit log: every change to or search of a case, hash-chained.

Each entry stores the SHA-256 of the previous entry; its own hash covers its sequence
number, time, examiner, action, parameters, result and that previous hash. Editing,
deleting or reordering any entry breaks the chain at that entry.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from forensics.clock import utc_now

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, time_utc: str, examiner: str, action: str, params: str, result: str, prev: str) -> str:
    payload = canonical([seq, time_utc, examiner, action, params, result, prev])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time_utc: str
    examiner: str
    action: str
    params: dict
    result: dict
    prev_hash: str
    entry_hash: str


def append(conn: sqlite3.Connection, examiner: str, action: str, params: dict, result: dict) -> AuditEntry:
    """Append one entry. Call inside the store's write transaction."""
    row = conn.execute("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    now = utc_now()
    p, r = canonical(params), canonical(result)
    h = entry_hash(seq, now, examiner, action, p, r, prev)
    conn.execute(
        "INSERT INTO audit_log (seq, time_utc, examiner, action, params, result, prev_hash, entry_hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, now, examiner, action, p, r, prev, h),
    )
    return AuditEntry(seq, now, examiner, action, params, result, prev, h)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_broken: int | None
    reason: str
    head: str

    def as_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "first_broken_seq": self.first_broken,
                "reason": self.reason, "head_hash": self.head}


def verify(conn: sqlite3.Connection) -> ChainReport:
    """Recompute the chain from the first entry; report the first entry that does not fit."""
    prev = GENESIS
    expected_seq = 1
    n = 0
    for row in conn.execute(
        "SELECT seq, time_utc, examiner, action, params, result, prev_hash, entry_hash FROM audit_log ORDER BY seq"
    ):
        seq, t, ex, act, p, r, ph, eh = row
        n += 1
        if seq != expected_seq:
            return ChainReport(False, n, seq, f"sequence gap: expected entry {expected_seq}, found {seq}", prev)
        if ph != prev:
            return ChainReport(False, n, seq, "previous-hash link does not match the entry before it", prev)
        if entry_hash(seq, t, ex, act, p, r, ph) != eh:
            return ChainReport(False, n, seq, "entry content does not match its hash (edited)", prev)
        prev = eh
        expected_seq += 1
    return ChainReport(True, n, None, "chain intact", prev)


def entries(conn: sqlite3.Connection, action_prefix: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    sql = "SELECT seq, time_utc, examiner, action, params, result, prev_hash, entry_hash FROM audit_log"
    args: list = []
    if action_prefix:
        sql += " WHERE action LIKE ?"
        args.append(action_prefix + "%")
    sql += " ORDER BY seq"
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    return [
        AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6], r[7])
        for r in conn.execute(sql, args)
    ]
