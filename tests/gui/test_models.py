"""The gallery model and thumbnail cache without widgets: lazy batched rows, targeted
dataChanged, appends during ingest, and a byte-bounded thumbnail LRU loaded off-thread."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PyQt6.QtCore import Qt

from forensics import browse
from forensics.case import Case
from gui.models.items import BATCH, ID_ROLE, ROW_ROLE, ItemListModel
from gui.models.thumbs import ThumbnailCache


@pytest.fixture()
def case(tmp_path: Path):
    c = Case.create(tmp_path / "case", name="Models", number="M-1", examiner="Tester", authority="Order 5")
    (c.thumbs_dir / "t").mkdir()
    for n in range(4):
        Image.new("RGB", (256, 192), (60 * n, 100, 200)).save(c.thumbs_dir / "t" / f"{n}.jpg")
    with c.store.write() as w:
        w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/ev', X'2F6576', 'now', 'x')")
        w.executemany(
            "INSERT INTO items (kind, source_id, relpath, relpath_raw, size, thumb, ingested_utc) VALUES ('image', 1, ?, ?, 1, ?, 'now')",
            [(f"d/{n:04d}.jpg", f"d/{n:04d}.jpg".encode(), f"t/{n % 4}.jpg" if n % 5 else "t/missing.jpg")
             for n in range(1000)])
    yield c
    c.close()


def test_rows_are_fetched_lazily_in_batches(qtbot, case) -> None:
    thumbs = ThumbnailCache(64)
    model = ItemListModel(case, thumbs)
    model.set_ids(browse.item_ids(case.ctx))
    assert model.rowCount() == 1000 and model.fetches == 0  # ids only, no rows yet
    assert model.data(model.index(0), ID_ROLE) == model.id_at(0)
    assert model.fetches == 0
    assert model.data(model.index(3), Qt.ItemDataRole.DisplayRole) == "0003.jpg"
    assert model.fetches == 1
    for r in range(BATCH):  # the whole aligned block came with that one query
        model.data(model.index(r), ROW_ROLE)
    assert model.fetches == 1
    model.data(model.index(BATCH + 1), ROW_ROLE)
    assert model.fetches == 2
    thumbs.wait()


def test_refresh_emits_targeted_data_changed(qtbot, case) -> None:
    model = ItemListModel(case, ThumbnailCache(64))
    ids = browse.item_ids(case.ctx)
    model.set_ids(ids)
    assert model.row_data(10)["category"] is None
    case.tag_items([ids[10], ids[11], ids[500]], category=2)
    changed: list[tuple[int, int]] = []
    resets: list[int] = []
    model.dataChanged.connect(lambda a, b, roles=(): changed.append((a.row(), b.row())))
    model.modelReset.connect(lambda: resets.append(1))
    model.refresh([ids[10], ids[11], ids[500]])
    assert changed == [(10, 11), (500, 500)] and not resets
    assert model.row_data(10)["category"] == 2 and model.row_data(500)["category"] == 2


def test_append_ids_inserts_rows_once(qtbot, case) -> None:
    model = ItemListModel(case, ThumbnailCache(64))
    ids = browse.item_ids(case.ctx)
    model.set_ids(ids[:600])
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda parent, a, b: inserted.append((a, b)))
    model.append_ids(ids[590:700])  # overlaps what is shown: only new ids are added
    assert inserted == [(600, 699)] and model.rowCount() == 700
    assert model.row_of(ids[650]) == 650


def test_thumbnails_load_off_thread_and_signal_their_row(qtbot, case) -> None:
    thumbs = ThumbnailCache(64)
    model = ItemListModel(case, thumbs)
    ids = browse.item_ids(case.ctx)
    model.set_ids(ids)
    assert model.data(model.index(1), Qt.ItemDataRole.DecorationRole) is None  # a miss queues a load
    with qtbot.waitSignal(model.dataChanged, timeout=5000) as sig:
        pass
    assert sig.args[0].row() == 1
    img = model.data(model.index(1), Qt.ItemDataRole.DecorationRole)
    assert img is not None and max(img.width(), img.height()) == 64  # decoded at display size
    # A missing cache file is "no thumbnail", not an error, and is not retried on every paint.
    assert model.data(model.index(0), Qt.ItemDataRole.DecorationRole) is None
    qtbot.waitUntil(lambda: model.ids()[0] in thumbs._failed, timeout=5000)
    thumbs.wait()


def test_thumbnail_cache_is_byte_bounded(qtbot, case) -> None:
    one = 64 * 48 * 4
    thumbs = ThumbnailCache(64, budget_bytes=3 * one)
    for n in range(4):
        thumbs.get(("k", n), case.thumbs_dir / "t" / f"{n}.jpg")
    qtbot.waitUntil(lambda: sum(thumbs.has(("k", n)) for n in range(4)) == 3 and not thumbs._requested, timeout=5000)
    assert thumbs.cached_bytes() <= 3 * one
    thumbs.set_size(32)  # a new display size drops the cache
    assert thumbs.cached_bytes() == 0 and not any(thumbs.has(("k", n)) for n in range(4))
    thumbs.wait()
