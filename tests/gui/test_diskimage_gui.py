"""The workbench with a disk image: the acquisition-hash mismatch stays in sight, and an item
inside the image shows where it lives (image, partition, entry, deleted) and its preview."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

import diskimages as di  # noqa: E402
from qt_helpers import show_item  # noqa: E402


def test_image_items_and_hash_mismatch_in_the_workbench(window, qtbot, tmp_path) -> None:
    from forensics.case import Case
    from forensics.ingest.pipeline import IngestOptions

    files = di.evidence_files(tmp_path / "files")
    raw = di.fat_mbr_disk(tmp_path / "disk.raw", files)
    segs = di.to_e01(raw, tmp_path / "disk")
    photo = files["DCIM/2024/MAY/IMG_0002.JPG"].read_bytes()
    di.flip_byte_in(segs, photo[100:164])
    case = Case.create(tmp_path / "case", name="Img", number="I-1", examiner="T", authority="Warrant 1")
    case.ingest([segs[0]], IngestOptions(workers=1))
    deleted = next(i for i in case.items(include_frames=False) if "deleted" in i["flags"])
    case.close()
    with qtbot.waitSignal(window.gallery_refreshed, timeout=10_000):
        window.open_case(tmp_path / "case", examiner="T")
    assert window.source_alert_label.isVisible()
    assert "ACQUISITION HASH MISMATCH" in window.source_alert_label.text()
    show_item(window, qtbot, deleted["id"])
    shown = window.item_view.meta.toPlainText()
    assert "Disk image" in shown and "DELETED" in shown and "partition 1 (FAT16)" in shown
    from gui.views.item_view import gather

    assert gather(window.case, deleted["id"])["image"] is not None  # preview read through the image
