"""Query idioms every part of the core repeats, written once.

SQLite caps host parameters per statement (32,766 since 3.32; older builds 999), so id
lists go in chunks; long tables are walked by id pages so a read transaction stays short;
the (COUNT(*), MAX(id)) pair of a table tells whether rows were added or removed since a
result was computed.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

CHUNK = 900  # below the oldest SQLite limit of 999 host parameters, with room for a few more
PAGE = 500


def chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    """`ids` as lists of at most `size` ints, in the order given."""
    batch: list[int] = []
    for i in ids:
        batch.append(int(i))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def marks(n: int) -> str:
    """`?,?,...` for an IN (...) list of n values."""
    return ",".join("?" * n)


def select_in(conn: sqlite3.Connection, sql: str, ids: Iterable[int], args: Sequence[Any] = (),
              size: int = CHUNK) -> Iterator[sqlite3.Row]:
    """Run `sql` once per chunk of `ids`, its `{ids}` placeholder replaced by the chunk's
    marks; `args` are bound before the ids. Rows come chunk by chunk."""
    for chunk in chunks(ids, size):
        yield from conn.execute(sql.format(ids=marks(len(chunk))), [*args, *chunk])


def table_signature(conn: sqlite3.Connection, table: str = "items") -> tuple[int, int]:
    """(row count, largest id) of a table: unchanged means no rows were added or removed.

    MAX(id) is a b-tree seek; COUNT(*) walks the smallest index, which SQLite keeps cheap
    (about 20 ms at a million items)."""
    row = conn.execute(f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {table}").fetchone()
    return int(row[0]), int(row[1])


def pages(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = (), key: str | int = 0,
          page: int = PAGE) -> Iterator[list[sqlite3.Row]]:
    """Walk a long result a page (list of rows) at a time, each page its own short read.
    `sql` selects the paging key (an increasing id, column `key`) and ends with
    `... <key> > ? ORDER BY <key> LIMIT ?`; `args` are bound before those two."""
    last = 0
    while True:
        rows = conn.execute(sql, [*args, last, page]).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][key]


def paged(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = (), key: str | int = 0,
          page: int = PAGE) -> Iterator[sqlite3.Row]:
    """The rows of `pages`, one by one."""
    for rows in pages(conn, sql, args, key, page):
        yield from rows
