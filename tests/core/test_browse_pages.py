"""forensics.browse.item_ids over many rows: the one-text read keeps the display order of
every sort key, and `limit` gives the list's first page."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from forensics import browse
from forensics.browse import ItemFilter
from forensics.case import Case


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Case:
    """3,000 items in a shuffled order of sizes, times, paths and categories, with ties."""
    rnd = random.Random(5)
    c = Case.create(tmp_path_factory.mktemp("pages") / "case", name="Pages", number="P-1", examiner="Tester",
                    authority="Warrant 1")
    with c.store.write() as w:
        w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev', X'2F6576', 'now', 'x')")
        w.executemany(
            "INSERT INTO items (kind, source_id, relpath, relpath_raw, size, taken_utc, mtime_utc, category,"
            " ingested_utc) VALUES (?, 1, ?, ?, ?, ?, ?, ?, 'now')",
            [("video" if n % 50 == 0 else "image", p := f"d{rnd.randrange(30)}/f{rnd.randrange(10**6)}.jpg", p.encode(),
              rnd.choice([None, rnd.randrange(100)]),
              rnd.choice([None, f"2020-0{rnd.randrange(1, 10)}-1{rnd.randrange(10)}T00:00:00.000000Z"]),
              f"2019-01-0{rnd.randrange(1, 10)}T00:00:00.000000Z", rnd.choice([None, rnd.randrange(10)]))
             for n in range(3000)])
    yield c
    c.close()


def _row_by_row(case: Case, filters: ItemFilter, sort: str, descending: bool) -> list[int]:
    where, args = browse.filter_sql(filters)
    sql = "SELECT i.id FROM items i" + where + browse._order(sort, descending)
    return [r[0] for r in case.store.read.execute(sql, args)]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", browse.SORT_KEYS)
def test_one_text_read_keeps_the_display_order(case: Case, sort: str, descending: bool) -> None:
    for filters in (ItemFilter(), ItemFilter(kinds=("image",), category=3)):
        expected = _row_by_row(case, filters, sort, descending)
        assert len(expected) > 10
        assert browse.item_ids(case.ctx, filters, sort, descending) == expected


def test_first_page_is_the_head_of_the_list(case: Case) -> None:
    whole = browse.item_ids(case.ctx, sort="date", descending=True)
    assert len(whole) == 3000
    assert browse.item_ids(case.ctx, sort="date", descending=True, limit=1000) == whole[:1000]
    assert browse.item_ids(case.ctx, ItemFilter(text="no such name"), limit=10) == []
