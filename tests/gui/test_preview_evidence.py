"""The item preview is read through the one evidence opener: it shows the bytes that were
catalogued, and falls back to the cached thumbnail when the file no longer has them."""
from __future__ import annotations

from PIL import Image

from forensics.case import Case
from forensics.ingest.pipeline import IngestOptions
from qt_helpers import show_item


def test_preview_shows_only_catalogued_bytes(window, qtbot, tmp_path):
    ev = tmp_path / "ev"
    ev.mkdir()
    Image.new("RGB", (900, 600), (200, 30, 30)).save(ev / "photo.jpg", quality=90)
    case = Case.create(tmp_path / "case", name="Preview", number="PV-1", examiner="Tester", authority="Order PV-1")
    case.ingest([ev], IngestOptions(workers=1, faces=False))
    item_id = case.items()[0]["id"]
    case.close()
    with qtbot.waitSignal(window.gallery_refreshed, timeout=20_000):
        window.open_case(tmp_path / "case", examiner="Tester")
    show_item(window, qtbot, item_id)
    assert window.item_view.detail["image"].width() == 900  # the evidence itself
    # Same size on disk, other pixels: the preview must not show it as the evidence.
    Image.new("RGB", (900, 600), (30, 30, 200)).save(ev / "photo.jpg", quality=90)
    show_item(window, qtbot, item_id)
    img = window.item_view.detail["image"]
    assert img is not None and img.width() <= 256  # the thumbnail made at ingest
