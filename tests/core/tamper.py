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
