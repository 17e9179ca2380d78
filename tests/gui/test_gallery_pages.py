"""The gallery paints a long list's first page before the whole list is read, then appends
the rest to it; refreshes that keep the position read the whole list at once."""
from __future__ import annotations

from pathlib import Path

import pytest

from forensics import browse
from forensics.case import Case
from gui.controllers.gallery import FIRST_PAGE

N = FIRST_PAGE * 2 + 500


@pytest.fixture
def long_case(tmp_path: Path) -> Path:
    path = tmp_path / "long"
    case = Case.create(path, name="Long", number="L-1", examiner="DC Test", authority="Warrant (test)")
    with case.store.write() as w:
        w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev', X'2F6576', 'now', 'x')")
        w.executemany("INSERT INTO items (kind, source_id, relpath, relpath_raw, size, mtime_utc, ingested_utc)"
                      " VALUES ('image', 1, ?, ?, ?, ?, 'now')",
                      [(f"p/{n:05d}.jpg", f"p/{n:05d}.jpg".encode(), (n * 7919) % 1000,
                        f"2023-0{1 + n % 9}-01T00:00:00.000000Z") for n in range(N)])
    case.close()
    return path


def test_first_page_painted_then_the_rest_appended(window, long_case: Path, qtbot) -> None:
    events: list[tuple[str, int]] = []
    window.queries.page_ready.connect(lambda ids: events.append(("page", len(ids))))
    with qtbot.waitSignal(window.gallery_refreshed, timeout=20_000):
        window.open_case(long_case, examiner="DC Test")
        model = window.model
        window.gallery.list.painted.connect(lambda: events.append(("painted", model.rowCount())))
        model.rowsInserted.connect(lambda parent, first, last: events.append(("rest", last - first + 1)))
    assert events[0] == ("page", FIRST_PAGE)
    # The page's cells were painted before the remaining rows were added to them.
    rest = events.index(("rest", N - FIRST_PAGE))
    assert ("painted", FIRST_PAGE) in events[:rest]
    assert model.complete and model.rowCount() == N
    assert model.ids() == browse.item_ids(window.case.ctx)
    assert window.count_label.text() == f"{N:,} items shown"
    qtbot.waitUntil(lambda: window.timeline_dock.timeline.canvas.points is not None, timeout=20_000)
    assert len(window.timeline_dock.timeline.canvas.points) == N

    # A sort (a new list) starts with a page again and ends with the whole list in order.
    events.clear()
    f = window.gallery.filters
    with qtbot.waitSignal(window.gallery_refreshed, timeout=20_000):
        f.sort.setCurrentIndex(f.sort.findData("size"))
    assert events[0] == ("page", FIRST_PAGE)
    assert model.ids() == browse.item_ids(window.case.ctx, sort="size", descending=f.sort_key()[1])

    # Keeping the position (after an edit, an ingest) reads the whole list in one go.
    events.clear()
    window.gallery.select_ids([model.id_at(N - 3)])
    with qtbot.waitSignal(window.gallery_refreshed, timeout=20_000):
        window.refresh_gallery(keep_position=True)
    assert not [e for e in events if e[0] == "page"]
    assert window.gallery.selected_ids() == [model.id_at(N - 3)]
