"""Tamper-evident audit log: every change to or search of a case, hash-chained and signed.

Each entry (format 2) stores the SHA-256 of the previous entry; its own hash covers the
case id, its sequence number, time, examiner, key id, action, parameters, result and that
previous hash, and the acting examiner's Ed25519 key signs that hash. The first entry is
the signed case creation (the genesis), which registers the creator's public key; any
other examiner's key is registered by an `examiner.key` entry signed by that key, and a
change of acting examiner is an `examiner.switch` entry. After each commit the new head
is appended, signed, to the examiner's witness file outside the case
(`forensics.examiners`), which is what lets `verify` see entries cut off the end or a
log rewritten wholesale. Entries written before signing existed (format 1) carry no key
and are reported as unsigned. See `forensics.audit_verify` for what verify proves.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

# the format lives in forensics.audit_format; re-exported here, where callers look for it
from forensics.audit_format import (COLUMNS, FORMAT, GENESIS, GENESIS_ACTION, KEY_ACTION,  # noqa: F401
                                    SWITCH_ACTION, canonical, entry_hash, signature_message, signed_hash)
from forensics.clock import utc_now

if TYPE_CHECKING:
    from forensics.examiners import ExaminerKey


class CommitStore(Protocol):
    """What the trail needs of the case store (forensics.store.db.Store), which this
    lower layer does not import: committed reads and after-commit hooks."""

    @property
    def read(self) -> sqlite3.Connection: ...

    def after_commit(self, on_commit: Any, on_rollback: Any = None) -> None: ...


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
    key_id: str | None = None
    signature: str | None = None


class AuditTrail:
    """Appends signed entries for one acting examiner of one case; witnesses each commit."""

    def __init__(self, store: CommitStore, case_id: str, examiner: str) -> None:
        self.store = store
        self.case_id = case_id
        self.examiner = examiner
        self._key: "ExaminerKey | None" = None
        self._registered: set[tuple[str, str]] | None = None
        self._pending: list[dict] = []
        self._lock = threading.Lock()

    def act_as(self, examiner: str) -> None:
        """From now on, append as `examiner` (with that examiner's key)."""
        with self._lock:
            self.examiner, self._key, self._registered = examiner, None, None

    @property
    def key(self) -> "ExaminerKey":
        if self._key is None:
            from forensics.examiners import examiner_key

            self._key = examiner_key(self.examiner)
        return self._key

    def append(self, conn: sqlite3.Connection, action: str, params: dict, result: dict) -> AuditEntry:
        """Append one entry (after the key registration and examiner switch it needs).
        Call inside the store's write transaction; the head is witnessed after commit."""
        last = conn.execute("SELECT examiner FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        if action != GENESIS_ACTION:
            if (self.examiner, self.key.key_id) not in self._keys(conn):
                self._write(conn, KEY_ACTION, {"examiner": self.examiner, "key_id": self.key.key_id,
                                                "public_key": self.key.public_hex, "algorithm": "Ed25519"}, {})
            if last is not None and last[0] != self.examiner and action != SWITCH_ACTION:
                self._write(conn, SWITCH_ACTION, {"from": last[0], "to": self.examiner}, {})
        return self._write(conn, action, params, result)

    def genesis_params(self, params: dict) -> dict:
        """The case-creation parameters plus what makes them the genesis: case id and key."""
        return {**params, "case_id": self.case_id, "examiner": self.examiner, "key_id": self.key.key_id,
                "public_key": self.key.public_hex, "algorithm": "Ed25519"}

    def _keys(self, conn: sqlite3.Connection) -> set[tuple[str, str]]:
        if self._registered is None:
            self._registered = set()
            for p in conn.execute("SELECT params FROM audit_log WHERE action IN (?, ?) AND key_id IS NOT NULL",
                                  (GENESIS_ACTION, KEY_ACTION)):
                try:
                    d = json.loads(p[0])
                    self._registered.add((d["examiner"], d["key_id"]))
                except (ValueError, KeyError, TypeError):
                    continue  # verify reports it; it simply registers nothing
        return self._registered

    def _write(self, conn: sqlite3.Connection, action: str, params: dict, result: dict) -> AuditEntry:
        row = conn.execute("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        now = utc_now()
        p, r = canonical(params), canonical(result)
        key = self.key
        h = signed_hash(self.case_id, seq, now, self.examiner, key.key_id, action, p, r, prev)
        sig = key.sign(signature_message(h))
        conn.execute(f"INSERT INTO audit_log ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, now, self.examiner, action, p, r, prev, h, key.key_id, sig))
        if action in (GENESIS_ACTION, KEY_ACTION):
            self._keys(conn).add((self.examiner, key.key_id))
        self._queue_witness(seq, h, now)
        return AuditEntry(seq, now, self.examiner, action, params, result, prev, h, key.key_id, sig)

    def _queue_witness(self, seq: int, h: str, now: str) -> None:
        from forensics.examiners import signed_head

        with self._lock:
            self._pending.append(signed_head(self.key, self.case_id, seq, h, now))
        self.store.after_commit(self._flush_witness, self._drop_pending)

    def _flush_witness(self) -> None:
        from forensics.examiners import witness

        with self._lock:
            heads, self._pending = self._pending, []
        if heads:
            witness(heads)

    def _drop_pending(self) -> None:
        with self._lock:
            self._pending = []
        self._registered = None  # a rolled-back registration registered nothing

    def signed_head(self) -> dict | None:
        """The current head of the log, signed now by the acting examiner (None if empty)."""
        from forensics.examiners import signed_head

        row = self.store.read.execute("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else signed_head(self.key, self.case_id, row[0], row[1], utc_now())


def verify(conn: sqlite3.Connection, witness_files: list | None = None, local_witness: bool = False):
    """Check the log (see `forensics.audit_verify.verify_log`); never raises on a damaged log."""
    from forensics.audit_verify import verify_log

    return verify_log(conn, witness_files or [], local_witness)


def entries(conn: sqlite3.Connection, action_prefix: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    sql = f"SELECT {COLUMNS} FROM audit_log"
    args: list = []
    if action_prefix:
        sql += " WHERE action LIKE ?"
        args.append(action_prefix + "%")
    sql += " ORDER BY seq"
    if limit:
        sql += " LIMIT ?"
        args.append(limit)
    return [
        AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6], r[7], r[8], r[9])
        for r in conn.execute(sql, args)
    ]
