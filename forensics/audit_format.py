"""The audit entry format: the canonical payloads that are hashed and signed.

Kept apart from `forensics.audit` (which writes entries) so that the verifier,
`forensics.audit_verify`, depends on the format alone.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
FORMAT = "forensics-audit/2"
GENESIS_ACTION = "case.create"
KEY_ACTION = "examiner.key"
SWITCH_ACTION = "examiner.switch"
COLUMNS = "seq, time_utc, examiner, action, params, result, prev_hash, entry_hash, key_id, signature"


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, time_utc: str, examiner: str, action: str, params: str, result: str, prev: str) -> str:
    """Format-1 (unsigned) entry hash, kept to check cases written before signing."""
    payload = canonical([seq, time_utc, examiner, action, params, result, prev])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def signed_hash(case_id: str, seq: int, time_utc: str, examiner: str, key_id: str, action: str,
                params: str, result: str, prev: str) -> str:
    """Format-2 entry hash: the canonical payload the examiner's key signs."""
    payload = canonical([FORMAT, case_id, seq, time_utc, examiner, key_id, action, params, result, prev])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def signature_message(h: str) -> bytes:
    return f"{FORMAT}:{h}".encode("ascii")
