"""SQLite connection handling: WAL, one serialised writer, per-thread readers, migrations."""
from __future__ import annotations

import errno
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from forensics.model import CaseError

log = logging.getLogger(__name__)
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Space kept free in the case folder so that, when the disk fills, the run can still
# record how it ended (run record, audit entry) after releasing it.
RESERVE_NAME = "space.reserve"
RESERVE_BYTES = 1 << 20
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class SchemaError(Exception):
    pass


class StorageError(CaseError):
    """The case folder cannot be written (disk full, read-only, permission): one clear
    message for the examiner; what was committed before stays consistent."""


def storage_error(exc: BaseException, where: Path | str) -> StorageError | None:
    """A StorageError describing `exc` if it is a disk-full, read-only or permission
    failure (from the OS or from SQLite), else None."""
    text = str(exc).lower()
    if isinstance(exc, OSError) and exc.errno in _FULL or "disk is full" in text:
        why, fix = "the disk holding the case is full", "free space"
    elif _on_readonly_fs(where) or isinstance(exc, OSError) and exc.errno == errno.EROFS \
            or "readonly database" in text or "read-only" in text:
        why, fix = "the case folder is on read-only media", "use a writable copy of the case"
    elif isinstance(exc, PermissionError) or "unable to open database" in text:
        why, fix = "the case folder cannot be written (permission denied)", "fix its permissions"
    elif isinstance(exc, sqlite3.OperationalError) and "disk i/o error" in text:
        why, fix = "the case database cannot be written (disk I/O error: full disk or failing medium)", "check the disk"
    else:
        return None
    return StorageError(f"{why} ({where}); work committed before this point is kept and consistent."
                        f" {fix[0].upper()}{fix[1:]}, then run the command again to resume.")


def _on_readonly_fs(where: Path | str) -> bool:
    try:
        return bool(os.statvfs(where).f_flag & os.ST_RDONLY)
    except (OSError, ValueError):
        return False


def process_alive(pid: int) -> bool:
    """Whether a process of this id exists on this machine (the writer of a run or an
    import that may still be going on)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _uri(path: Path, *, immutable: bool = False) -> str:
    return f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        # mode=ro and no journal_mode change: a reader never needs to write the database.
        conn = _open_ro(path)
        conn.execute("PRAGMA query_only = ON")
    else:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 60000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit the tool has acknowledged survives a power cut (NORMAL in WAL
        # mode may lose the last transactions).
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def _open_ro(path: Path) -> sqlite3.Connection:
    def connect(uri: str) -> sqlite3.Connection:
        c = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None, check_same_thread=False)
        c.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opening is lazy: force it
        return c

    try:
        return connect(_uri(path))
    except sqlite3.OperationalError:
        # A WAL reader must create the -shm file, which fails on a full disk or a
        # read-only folder. With no WAL content beside it the main file is the whole
        # database, so it can be read as immutable.
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise
        return connect(_uri(path, immutable=True))


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

    _writer_conn: sqlite3.Connection | None

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._local = threading.local()
        self._depth = 0
        self._hooks: list[tuple[Callable[[], None], Callable[[], None] | None]] = []
        if readonly:
            if not self.path.is_file():
                raise CaseError(f"{self.path} does not exist")
            self._writer_conn = None
            current = self.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            if current < len(migrations()):
                raise CaseError(f"{self.path} needs upgrading to schema {len(migrations())} (it is at {current});"
                                " open it once with a command that writes")
            return
        # The writer is opened on first write, so a command that only reads (and one whose
        # only write is a final audit entry) works on a full disk or read-only media.
        self._writer_conn = None
        try:
            if not self.path.exists() or self._pending():
                self.migrate()
        except (sqlite3.OperationalError, OSError) as exc:
            err = storage_error(exc, self.path.parent)
            if err is None:
                raise
            raise err from exc
        self.ensure_reserve()

    def _pending(self) -> bool:
        try:
            current = self.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            current = 0
        return current < len(migrations())

    def _open_writer(self) -> sqlite3.Connection:
        try:
            return _connect(self.path)
        except sqlite3.OperationalError:
            if not self.release_reserve():
                raise
            return _connect(self.path)  # the reserve made room for the WAL index

    @property
    def _writer(self) -> sqlite3.Connection:
        if self._writer_conn is None:
            if self.readonly:
                raise CaseError("the case is open read-only")
            with self._lock:
                if self._writer_conn is None:
                    try:
                        self._writer_conn = self._open_writer()
                    except (sqlite3.OperationalError, OSError) as exc:
                        raise storage_error(exc, self.path.parent) or exc
        return self._writer_conn

    # -- space reserve ------------------------------------------------------
    @property
    def _reserve(self) -> Path:
        return self.path.with_name(RESERVE_NAME)

    def ensure_reserve(self) -> None:
        """Keep RESERVE_BYTES allocated beside the database while there is room."""
        if self._reserve.exists():
            return
        tmp = self._reserve.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(b"\0" * RESERVE_BYTES)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._reserve)
        except OSError:
            tmp.unlink(missing_ok=True)

    def release_reserve(self) -> bool:
        """Free the reserved space (the disk is full); True if there was some to free."""
        try:
            self._reserve.unlink()
            return True
        except OSError:
            return False

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
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise storage_error(exc, self.path.parent) or exc
            self._depth = 1
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                hooks, self._hooks = self._hooks, []
                for _, on_rollback in hooks:
                    if on_rollback is not None:
                        on_rollback()
                err = storage_error(exc, self.path.parent) if isinstance(exc, (OSError, sqlite3.Error)) else None
                if err is not None:
                    raise err from exc
                raise
            else:
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
        if self._writer_conn is not None:
            self._writer_conn.close()


