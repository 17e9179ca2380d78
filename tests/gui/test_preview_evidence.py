"""The item preview shows only the bytes that were catalogued: a preview derived (in a core
worker process) from the verified evidence is kept, and a file changed before it was ever
previewed falls back to the thumbnail made at ingest. The changed pixels are never shown."""
from __future__ import annotations

from PIL import Image

from forensics.case import Case
from forensics.ingest.pipeline import IngestOptions
from qt_helpers import show_item

RED, BLUE = (200, 30, 30), (30, 30, 200)


def _is_red(img) -> bool:
    c = img.pixelColor(img.width() // 2, img.height() // 2)
    return c.red() > 150 and c.blue() < 80


def test_preview_shows_only_catalogued_bytes(window, qtbot, tmp_path):
    ev = tmp_path / "ev"
    ev.mkdir()
    for n, name in enumerate(("photo.jpg", "other.jpg")):  # distinct bytes: previews are cached by SHA-256
        Image.new("RGB", (900, 600), (RED[0] + 10 * n, RED[1], RED[2])).save(ev / name, quality=90)
    case = Case.create(tmp_path / "case", name="Preview", number="PV-1", examiner="Tester", authority="Order PV-1")
    case.ingest([ev], IngestOptions(workers=1, faces=False))
    ids = {i["relpath"]: i["id"] for i in case.items()}
    case.close()
    with qtbot.waitSignal(window.gallery_refreshed, timeout=20_000):
        window.open_case(tmp_path / "case", examiner="Tester")
    show_item(window, qtbot, ids["photo.jpg"])
    img = window.item_view.detail["image"]
    assert img.width() == 900 and _is_red(img)  # the evidence itself
    # Same size on disk, other pixels: neither item may show them as the evidence.
    for name in ("photo.jpg", "other.jpg"):
        Image.new("RGB", (900, 600), BLUE).save(ev / name, quality=90)
    show_item(window, qtbot, ids["photo.jpg"])
    img = window.item_view.detail["image"]
    assert img is not None and _is_red(img)  # the preview derived from the verified bytes
    show_item(window, qtbot, ids["other.jpg"])
    img = window.item_view.detail["image"]
    assert img is not None and _is_red(img), "changed pixels shown"
    assert img.width() <= 256  # the thumbnail made at ingest
