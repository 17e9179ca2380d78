"""SQLite connection handling: WAL, one serialised writer, per-thread readers, migrations."""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaError(Exception):
    pass


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 60000")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every numbered migration shipped with the package, in order."""
    found = []
    for entry in resources.files("forensics.store.migrations").iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise SchemaError(f"migration numbers must run 1..N without gaps, found {versions}")
    return found


class Store:
    """The case database. All writes go through `write()` (one lock, one connection), so
    ingest, the GUI and background jobs never race; reads use a connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._writer = _connect(self.path)
        self._local = threading.local()
        self._depth = 0
        self._hooks: list[tuple[Callable[[], None], Callable[[], None] | None]] = []
        self.migrate()

    # -- reading -----------------------------------------------------------
    @property
    def read(self) -> sqlite3.Connection:
        """This thread's read-only connection (sees only committed data)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, readonly=True)
            self._local.conn = conn
        return conn

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.read.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple | dict = ()):
        row = self.read.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- writing -----------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (nested calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._writer
                finally:
                    self._depth -= 1
                return
            self._writer.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                hooks, self._hooks = self._hooks, []
                for _, on_rollback in hooks:
                    if on_rollback is not None:
                        on_rollback()
                raise
            else:
                self._writer.execute("COMMIT")
                hooks, self._hooks = self._hooks, []
                for on_commit, _ in hooks:
                    try:
                        on_commit()
                    except Exception:  # the data is committed; a failed follow-up must not pretend otherwise
                        log.exception("after-commit step failed")
            finally:
                self._depth = 0

    def after_commit(self, on_commit: Callable[[], None], on_rollback: Callable[[], None] | None = None) -> None:
        """Run `on_commit` once the current write transaction commits (now, outside one);
        `on_rollback` if it rolls back. Registering the same pair twice runs it once."""
        with self._lock:
            if not self._depth:
                on_commit()
            elif (on_commit, on_rollback) not in self._hooks:
                self._hooks.append((on_commit, on_rollback))

    # -- schema --------------------------------------------------------------
    def version(self) -> int:
        conn = self._writer
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_utc TEXT NOT NULL)")
        return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]

    def migrate(self) -> list[int]:
        """Apply pending numbered migrations, each in its own transaction; an existing
        database is backed up first."""
        with self._lock:
            current = self.version()
            pending = [m for m in migrations() if m[0] > current]
            if pending and current > 0:
                backup = self.path.with_name(f"{self.path.name}.v{current}.bak")
                dst = sqlite3.connect(backup)
                self._writer.backup(dst)
                dst.close()
            for version, name, sql in pending:
                script = (
                    "BEGIN IMMEDIATE;\n" + sql + "\n;"
                    f"INSERT INTO schema_version (version, name, applied_utc) VALUES ({version}, '{name}', strftime('%Y-%m-%dT%H:%M:%fZ','now'));\n"
                    "COMMIT;"
                )
                try:
                    self._writer.executescript(script)
                except Exception as exc:
                    if self._writer.in_transaction:
                        self._writer.execute("ROLLBACK")
                    raise SchemaError(f"migration {name} failed: {exc}") from exc
            return [v for v, _, _ in pending]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        self._writer.close()


