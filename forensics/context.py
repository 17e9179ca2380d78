"""The case context: what every service needs, and nothing more.

Services (faces, copies, hash sets, reports, verification, ingest) take a `CaseContext`,
never the `Case`: the store, the frozen case record, the folder paths, the acting
examiner, audit appends, the catalogue of items, the one evidence opener and the clock.
`Case` builds one context per open case and composes the services on top of it.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from forensics import audit, clock
from forensics.catalogue import Catalogue
from forensics.evidence import Evidence
from forensics.model import CaseError
from forensics.store.db import StorageError, Store

DB_NAME = "case.sqlite"


@dataclass(frozen=True)
class CasePaths:
    """The folders of a case: database, thumbnail cache, index files, reports."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_NAME

    @property
    def thumbs(self) -> Path:
        return self.root / "thumbs"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def reports(self) -> Path:
        return self.root / "reports"


@dataclass(frozen=True)
class CaseRecord:
    """The case record as created (name, number, examiner, legal authority, creation time,
    tool version, description). Read-only: nothing changes it after creation."""

    data: Mapping[str, Any]

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> "CaseRecord":
        row = conn.execute("SELECT * FROM case_info WHERE id = 1").fetchone()
        if row is None:
            raise CaseError("the case database has no case record")
        return cls(MappingProxyType(dict(row)))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.data)

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def number(self) -> str:
        return self.data["number"]

    @property
    def examiner(self) -> str:
        """The examiner who created the case (the acting one is `CaseContext.examiner`)."""
        return self.data["examiner"]

    @property
    def authority(self) -> str:
        return self.data["authority"] or ""


@dataclass(frozen=True)
class CaseContext:
    store: Store
    record: CaseRecord
    paths: CasePaths
    trail: audit.AuditTrail  # the acting examiner and their signing key
    catalogue: Catalogue = field(init=False)
    evidence: Evidence = field(init=False)

    def __post_init__(self) -> None:
        catalogue = Catalogue(self.store, self.paths.thumbs)
        object.__setattr__(self, "catalogue", catalogue)
        object.__setattr__(self, "evidence", Evidence(catalogue))

    @classmethod
    def open(cls, root: Path, store: Store, examiner: str | None = None) -> "CaseContext":
        """The context of an open case. Who acts is said by the caller, else the OS
        account: never the case creator by default."""
        from forensics.examiners import os_user

        record = CaseRecord.load(store.read)
        acting = (examiner or "").strip() or os_user()
        return cls(store, record, CasePaths(Path(root)), audit.AuditTrail(store, record.data["case_id"], acting))

    @property
    def examiner(self) -> str:
        """The acting examiner, recorded (and signing) in every audit entry."""
        return self.trail.examiner

    # -- audit -------------------------------------------------------------------
    def audit(self, conn: sqlite3.Connection, action: str, params: dict, result: dict) -> audit.AuditEntry:
        """Append a signed audit entry inside the caller's write transaction `conn`."""
        return self.trail.append(conn, action, params, result)

    def log(self, action: str, params: dict, result: dict) -> audit.AuditEntry:
        """Append a signed audit entry in its own write transaction. On a full disk the
        case's space reserve is released once, so that what was done is still recorded."""
        try:
            with self.store.write() as w:
                return self.trail.append(w, action, params, result)
        except StorageError:
            if not self.store.release_reserve():
                raise
            with self.store.write() as w:
                return self.trail.append(w, action, params, result)

    def log_or_warn(self, action: str, params: dict, result: dict) -> tuple[audit.AuditEntry | None, str | None]:
        """`log`, for work that is done whether or not it can be recorded (a verification,
        a report written to another disk): (entry, None), or (None, why the audit entry
        could not be written) when the case folder cannot be written."""
        try:
            return self.log(action, params, result), None
        except StorageError as exc:
            return None, str(exc)

    def signed_head(self) -> dict | None:
        """The current audit head signed by the acting examiner, for reports and exports."""
        return self.trail.signed_head()

    def require_authority(self, purpose: str = "face processing") -> None:
        """Biometric work needs the legal authority recorded at case creation."""
        if not self.record.authority.strip():
            raise CaseError(f"{purpose} needs the case authority (warrant or order reference) recorded at case creation")

    # -- time ----------------------------------------------------------------------
    @staticmethod
    def now() -> str:
        """Now in UTC, as the case stores times."""
        return clock.utc_now()

    @staticmethod
    def parse_time(text: str) -> datetime:
        """Parse a stored or typed ISO 8601 time (see forensics.clock.parse_time)."""
        return clock.parse_time(text)
