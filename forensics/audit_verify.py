"""`verify_log`: what the audit log proves, what it cannot, and the first entry that fails.

The walk from the genesis checks, entry by entry: the sequence number, the link to the
previous hash, the content against its hash, the signature against a key registered
earlier in the case (the genesis or an `examiner.key` entry), and that the entry names
the examiner the key belongs to. Witness points (signed heads from examiners' witness
files and from reports or exports) are then compared with the entries at their sequence
numbers: a head that differs, or one past the end of the log, names what a rewrite or
a cut-off hid. Every failure is a verdict; nothing here raises on a damaged log.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from forensics import audit_format as audit
from forensics.examiners import head_valid, key_id_of, local_key_id, local_witness_files, read_heads, verify_signature

TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")


@dataclass
class Verdict:
    ok: bool
    entries: int
    first_broken: int | None
    reason: str
    head: str
    kind: str | None = None  # edited, rewritten, removed, reordered, unknown_key, unsigned, cut_off, ...
    problems: list[str] = field(default_factory=list)
    unsigned: int = 0
    keys: list[dict] = field(default_factory=list)
    witness: dict = field(default_factory=dict)
    proves: list[str] = field(default_factory=list)
    cannot_prove: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["first_broken_seq"] = d.pop("first_broken")
        d["head_hash"] = d.pop("head")
        return d


class _Walk:
    """State of the walk: the registered keys and the first failure."""

    def __init__(self, case_id: str | None) -> None:
        self.case_id = case_id
        self.keys: dict[str, dict] = {}
        self.fail: tuple[int, str, str] | None = None  # (seq, kind, reason)
        self.first_signed: int | None = None
        self.unsigned = 0
        self.hashes: dict[int, str] = {}
        self.last_time = ""

    def broken(self, seq: int, kind: str, reason: str) -> None:
        if self.fail is None:
            self.fail = (seq, kind, reason)


def _span(first: int, last: int) -> str:
    return f"entry {first} is" if first == last else f"entries {first}..{last} are"


def _case_id(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT case_id FROM case_info WHERE id = 1").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None


def _register(w: _Walk, seq: int, examiner: str, key_id: str | None, params: dict, action: str) -> None:
    """Record the key an entry registers; a malformed registration is a failure."""
    pub = params.get("public_key")
    try:
        good = isinstance(pub, str) and key_id_of(bytes.fromhex(pub)) == key_id == params.get("key_id")
    except ValueError:
        good = False
    if not good or params.get("examiner") != examiner:
        w.broken(seq, "unknown_key", f"entry {seq} ({action}) registers a key that does not match its own key id or examiner")
        return
    w.keys.setdefault(key_id, {"seq": seq, "examiner": examiner, "key_id": key_id, "public_key": pub})


def _check(w: _Walk, row: tuple) -> None:
    seq, t, ex, act, p, r, prev, h, key_id, sig = row
    try:
        params = json.loads(p)
        json.loads(r)
        if not isinstance(params, dict):
            raise ValueError("parameters are not an object")
    except (TypeError, ValueError) as exc:
        w.broken(seq, "unparsable", f"entry {seq} cannot be read ({exc}): it was edited outside the tool")
        return
    if key_id is None and sig is None:
        if w.first_signed is not None:
            w.broken(seq, "unsigned", f"entry {seq} is unsigned although entries are signed from entry {w.first_signed}:"
                                      " it was inserted or rewritten without a registered key")
            return
        w.unsigned += 1
        if audit.entry_hash(seq, t, ex, act, p, r, prev) != h:
            w.broken(seq, "edited", f"entry {seq} does not match its hash: edited")
        return
    if w.first_signed is None:
        w.first_signed = seq
    if audit.signed_hash(w.case_id or "", seq, t, ex, key_id or "", act, p, r, prev) != h:
        w.broken(seq, "edited", f"entry {seq} does not match its hash: edited (or copied from another case)")
        return
    if act == audit.GENESIS_ACTION and seq == 1 or act == audit.KEY_ACTION:
        _register(w, seq, ex, key_id, params, act)
        if w.fail is not None:
            return
    key = w.keys.get(key_id or "")
    if key is None:
        w.broken(seq, "unknown_key", f"entry {seq} is signed with key {key_id}, which no earlier entry registered in"
                                     " this case: re-signed with an unknown key")
    elif key["examiner"] != ex:
        w.broken(seq, "unknown_key", f"entry {seq} names examiner {ex!r} but is signed with the key of {key['examiner']!r}")
    elif not verify_signature(key["public_key"], sig or "", audit.signature_message(h)):
        kind = "reordered" if t < w.last_time else "rewritten"
        w.broken(seq, kind, f"entry {seq}'s signature does not match it: the entry was edited, or an entry at or before it"
                            " was removed or moved, and the hash chain recomputed"
                 + (f" (it is dated {t}, before the entry ahead of it: reordered)" if kind == "reordered" else ""))


def _walk(conn: sqlite3.Connection, w: _Walk) -> tuple[int, str]:
    cols = {r[1] for r in conn.execute("PRAGMA table_info(audit_log)")}
    sel = ", ".join(c if c in cols else f"NULL AS {c}" for c in audit.COLUMNS.split(", "))
    expected, prev, n = 1, audit.GENESIS, 0
    for row in conn.execute(f"SELECT {sel} FROM audit_log ORDER BY seq"):
        n += 1
        seq = row[0]
        if not isinstance(seq, int):
            w.broken(expected, "unparsable", f"entry {expected} has no valid sequence number")
            break
        w.hashes[seq] = row[7]
        if w.fail is not None:
            continue  # keep reading hashes for the witness comparison
        if seq == 1 and row[3] != audit.GENESIS_ACTION:
            w.broken(1, "missing_genesis", f"entry 1 is {row[3]!r}, not the case creation: the genesis was replaced")
        elif seq != expected:
            w.broken(expected, "removed", f"{_span(expected, seq - 1)} missing: removed")
        elif row[6] != prev:
            w.broken(seq, "removed", f"entry {seq} does not link to the entry before it: an entry was removed or moved")
        else:
            _check(w, row)
            w.last_time = max(w.last_time, str(row[1]))
        prev, expected = row[7], seq + 1
    return n, prev


def _witness(w: _Walk, files: list, local: bool, n: int, v: Verdict) -> tuple[int, str, str, int] | None:
    """Compare witness points with the log; the first that disagrees, if any, as
    (first entry that may differ, kind, reason, last entry that may differ)."""
    given = [Path(f) for f in files]
    paths = given + [p for p in (local_witness_files() if local else []) if p not in given]
    points: list[dict] = []
    for path in paths:
        heads, problems = read_heads(path, w.case_id)
        v.notes.extend(problems)
        if path in given and not problems and not any(h.get("case_id") == w.case_id for h in heads):
            v.notes.append(f"{path}: holds no witness point for this case")
        for h in heads:
            if h.get("case_id") != w.case_id:
                continue
            try:
                seq = int(h["seq"])
                agrees = ((w.fail is None or seq < w.fail[0]) and w.hashes.get(seq) == h["head"]
                          and w.keys.get(h["key_id"], {}).get("examiner") == h["examiner"])
            except (KeyError, TypeError, ValueError):
                agrees = False
            # a point that agrees with a validly signed entry adds nothing to check; one that
            # disagrees must itself be genuine before it accuses the case
            if agrees or head_valid(h):
                points.append({**h, "source": str(path)})
            else:
                v.notes.append(f"{path}: a witness point for entry {h.get('seq')} is not validly signed; ignored")
    points.sort(key=lambda h: int(h["seq"]))
    v.witness = {"sources": [str(p) for p in paths], "points": len(points),
                 "last_seq": int(points[-1]["seq"]) if points else None}
    last_good = 0
    max_seq = max(w.hashes) if w.hashes else 0
    for h in points:
        seq = int(h["seq"])
        who = f"witnessed by {h['examiner']} at {h['time_utc']} ({Path(h['source']).name})"
        registered = [k for k in w.keys.values() if k["examiner"] == h["examiner"]]
        if registered and h["key_id"] not in {k["key_id"] for k in registered}:
            first = min(k["seq"] for k in registered)
            return (first, "unknown_key", f"entry {first} registers a key for {h['examiner']} that is not the key"
                                          f" {h['key_id']} that examiner signs with ({who}): a forged key", first)
        if seq > max_seq:
            return (max_seq + 1, "cut_off", f"{_span(max_seq + 1, seq)} missing although entry {seq} was {who}:"
                                            f" the log was cut off after entry {max_seq}", seq)
        if w.hashes.get(seq) != h["head"]:
            where = f"entry {seq}" if seq == last_good + 1 else f"one of entries {last_good + 1}..{seq}"
            return (last_good + 1, "rewritten",
                    f"{where} differs from what was {who}: edited, removed, reordered or re-signed", seq)
        last_good = seq
    return None


def verify_log(conn: sqlite3.Connection, witness_files: list | None = None, local_witness: bool = False) -> Verdict:
    """Verify the audit log of the case behind `conn` against optional witness points."""
    v = Verdict(False, 0, None, "", audit.GENESIS)
    try:
        return _verify(conn, witness_files or [], local_witness, v)
    except (sqlite3.Error, ValueError, TypeError, OverflowError) as exc:
        v.first_broken, v.kind = v.first_broken or 1, "unreadable"
        v.reason = f"the audit log cannot be read: {exc}"
        return v


def _verify(conn: sqlite3.Connection, files: list, local: bool, v: Verdict) -> Verdict:
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").fetchone() is None:
        v.first_broken, v.kind = 1, "missing_table"
        v.reason = "the audit table is missing: the whole log was removed"
        return v
    w = _Walk(_case_id(conn))
    n, head = _walk(conn, w)
    v.entries, v.head, v.unsigned = n, head, w.unsigned
    fails = [w.fail] if w.fail else []
    if n == 0:
        fails.append((1, "missing_genesis", "the audit log is empty: entry 1, the case creation (genesis), is missing;"
                                            " the log was emptied or the table re-created"))
    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")}
    missing = [t for t in TRIGGERS if t not in triggers]
    if missing:
        v.problems.append(f"the append-only guards ({', '.join(missing)}) are gone: the audit table was re-created"
                          " or its guards dropped")
    wfail = _witness(w, files, local, n, v)
    if wfail:
        first, kind, reason, last = wfail
        if w.fail is not None and w.fail[0] <= last:
            v.problems.append(reason)  # the walk already named the entry inside the witnessed range
        else:
            fails.append((first, kind, reason))
    if fails:
        first = min(fails, key=lambda f: f[0])
        v.first_broken, v.kind, v.reason = first
        v.problems = [f[2] for f in sorted(fails, key=lambda f: f[0])] + v.problems
        v.problems = list(dict.fromkeys(v.problems))
    elif missing:
        # no entry is wrong, but nothing stops the next edit: not a pass
        v.kind, v.reason = "unguarded", v.problems[0]
    else:
        v.ok, v.reason = True, "chain intact"
    _explain(v, w)
    return v


def _explain(v: Verdict, w: _Walk) -> None:
    for k in w.keys.values():
        here = local_key_id(k["examiner"])
        k = {kk: k[kk] for kk in ("seq", "examiner", "key_id")}
        k["on_this_machine"] = None if here is None else here == k["key_id"]
        v.keys.append(k)
        if here is not None and here != k["key_id"]:
            v.notes.append(f"{k['examiner']}'s key on this machine is {here}, not {k['key_id']} as registered at entry"
                           f" {k['seq']} (another machine, or a forged registration)")
    good_upto = (v.first_broken - 1) if v.first_broken else v.entries
    if w.unsigned:
        v.cannot_prove.append(f"entries 1..{w.unsigned} are unsigned (written before signing existed): their hash chain"
                              " can be recomputed by anyone who can write the case")
    if good_upto:
        v.proves.append(f"entries 1..{good_upto} are in order, unedited, and each signed by the key registered in this"
                        " case for the examiner it names")
    last = v.witness.get("last_seq")
    if not last:
        v.cannot_prove.append("no witness point for this case was given: entries cut off the end of the log, or a log"
                              " rewritten from the genesis with a new key, cannot be detected; give --witness with the"
                              " examiner's witness file or a report of this case")
    else:
        if not v.first_broken or v.first_broken > last:
            v.proves.append(f"entries 1..{last} are exactly those witnessed outside the case")
        after = (f"entries {last + 1}..{v.entries} are signed but not witnessed; " if v.entries > last else "")
        v.cannot_prove.append(f"anything after the last witness point (entry {last}): {after}entries removed from the"
                              " end after it, or rewritten there by a holder of a registered key, would not show")
    v.cannot_prove.append("that what was recorded is true: a key in other hands signs as its examiner, and times come"
                          " from the computer's clock")
