"""Category-0 (non-pertinent) hash-set matches never display as known-bad in the GUI."""
from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import QRect
from PyQt6.QtGui import QColor, QImage, QPainter

from forensics import browse
from forensics.case import Case
from forensics.ingest.records import IngestOptions
from gui.views.item_view import gather, metadata_html
from gui.widgets.thumb_delegate import ThumbDelegate

VICS20 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"


def _badge_pixel(row: dict) -> QColor:
    img = QImage(200, 200, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    ThumbDelegate()._badges(p, QRect(0, 0, 200, 200), row)
    p.end()
    return img.pixelColor(5, 10)  # inside the first top-left badge, away from its glyph


def test_non_pertinent_match_is_not_shown_as_known_bad(qtbot, tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "np.jpg").write_bytes(b"non-pertinent file " * 40)
    (ev / "bad.jpg").write_bytes(b"known-bad file " * 40)
    case = Case.create(tmp_path / "case", name="g", number="G-1", examiner="ex", authority="w")
    try:
        case.ingest([ev], IngestOptions(workers=1, thumbnails=False))
        it = {Path(i["path"]).name: i for i in case.items()}
        f = tmp_path / "vic.json"
        f.write_text(json.dumps({"@odata.context": VICS20, "value": [
            {"MediaID": 1, "Category": 0, "MD5": it["np.jpg"]["md5"].upper(), "IsPrecategorized": False},
            {"MediaID": 2, "Category": 1, "MD5": it["bad.jpg"]["md5"].upper(), "IsPrecategorized": False,
             "Series": "S-9", "VictimIdentified": True}]}))
        case.hashsets.import_file(f, "VIC", kind="known-bad")  # the set's kind must not win over category 0
        np_html = metadata_html(gather(case, it["np.jpg"]["id"]))
        assert "VIC (non-pertinent, md5, category 0)" in np_html and "known-bad" not in np_html
        bad_html = metadata_html(gather(case, it["bad.jpg"]["id"]))
        assert "VIC (known-bad, md5, category 1, series S-9, victim identified)" in bad_html
        rows = {r["name"]: r for r in browse.item_rows(case, [it["np.jpg"]["id"], it["bad.jpg"]["id"]])}
        assert rows["np.jpg"]["hash_status"] == "non-pertinent" and rows["bad.jpg"]["hash_status"] == "known-bad"
        # The gallery badge: red for the known-bad file only (the category badge comes first, so drop it).
        red = QColor("#b00020")
        assert _badge_pixel({**rows["bad.jpg"], "category": None}) == red
        assert _badge_pixel({**rows["np.jpg"], "category": None}) != red
    finally:
        case.close()
