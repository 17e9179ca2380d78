"""The gallery's filter and sort controls; emits an ItemFilter whenever one changes."""
from __future__ import annotations

import re

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QSlider,
                             QVBoxLayout, QWidget)

from forensics.browse import NO_COUNTRY, UNCATEGORISED, ItemFilter

# "Order added" first: it needs no sort over the whole case (instant at 100,000 items) and
# items committed by a running ingest arrive in that order, so appending them is correct.
SORTS = [("Order added", "id"), ("Date taken", "date"), ("Path", "path"), ("Size", "size"), ("Category", "category")]
# A year, month or day, or a minute (what the timeline's brush writes below a day).
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?)?)?$")


def _tri(label_yes: str, label_no: str) -> QComboBox:
    c = QComboBox()
    c.addItem("any", None)
    c.addItem(label_yes, True)
    c.addItem(label_no, False)
    return c


class FilterPanel(QWidget):
    changed = pyqtSignal()
    thumb_size_changed = pyqtSignal(int)
    area_cleared = pyqtSignal()  # the user cleared the map lasso here; the map clears its drawing

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(300)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        lay.addLayout(form)
        self.search = QLineEdit(placeholderText="path contains…")
        self.search.setClearButtonEnabled(True)
        form.addRow("Search", self.search)
        kinds = QHBoxLayout()
        self.images = QCheckBox("Images", checked=True)
        self.videos = QCheckBox("Videos", checked=True)
        self.others = QCheckBox("Other", checked=False)
        for w in (self.images, self.videos, self.others):
            kinds.addWidget(w)
        form.addRow("Kind", kinds)
        self.faces = _tri("with faces", "without faces")
        form.addRow("Faces", self.faces)
        self.category = QComboBox()
        form.addRow("Category", self.category)
        self.tag = QComboBox()
        form.addRow("Tag", self.tag)
        self.hashset = _tri("matches a hash set", "no match")
        form.addRow("Hash sets", self.hashset)
        self.hash_set = QComboBox()
        self.hash_set.setObjectName("hash_set")
        self.hash_set.setToolTip("Only the files that match this imported set")
        form.addRow("Hash set", self.hash_set)
        self.hide_known_good = QCheckBox("Hide known-good and non-pertinent files")
        self.hide_known_good.setToolTip("Files whose only hash-set matches are known-good (e.g. NSRL) or VICS"
                                        " category 0 (non-pertinent); a file with any other match is always shown")
        form.addRow("", self.hide_known_good)
        self.date_from = QLineEdit(placeholderText="YYYY-MM-DD [HH:MM]")
        self.date_to = QLineEdit(placeholderText="YYYY-MM-DD [HH:MM]")
        for w in (self.date_from, self.date_to):
            w.setToolTip("Date taken (else modified), UTC; an EXIF time with no zone as recorded (local)."
                         " A date 'to' includes that day; a time 'to' ends just before it. The timeline's"
                         " selection writes these fields.")
        form.addRow("Taken from", self.date_from)
        form.addRow("Taken to", self.date_to)
        self.camera = QComboBox()
        form.addRow("Camera", self.camera)
        self.gps = _tri("has GPS", "no GPS")
        form.addRow("GPS", self.gps)
        self.country = QComboBox()
        self.country.setObjectName("country")
        form.addRow("Country", self.country)
        self.place = QComboBox()
        self.place.setObjectName("place")
        form.addRow("Place", self.place)
        self.area: tuple[tuple[float, float], ...] | None = None  # set by the map's lasso
        self.area_label = QLabel("")
        self.area_label.linkActivated.connect(lambda *_: self.area_cleared.emit())
        form.addRow("", self.area_label)
        self.errors = _tri("with errors", "without errors")
        form.addRow("Errors", self.errors)
        self.deleted = _tri("deleted (recovered from a disk image)", "not deleted")
        form.addRow("Deleted", self.deleted)
        self.bookmarked = QCheckBox("Bookmarked only")
        form.addRow("", self.bookmarked)
        self.collapse = QCheckBox("Collapse copy groups")
        form.addRow("", self.collapse)
        self.sort = QComboBox()
        for label, key in SORTS:
            self.sort.addItem(label, key)
        self.descending = QCheckBox("Descending")
        sort_row = QHBoxLayout()
        sort_row.addWidget(self.sort, 1)
        sort_row.addWidget(self.descending)
        form.addRow("Sort", sort_row)
        self.size = QSlider(Qt.Orientation.Horizontal)
        self.size.setRange(64, 256)
        self.size.setSingleStep(16)
        self.size.setValue(160)
        form.addRow("Thumbnails", self.size)
        self.date_hint = QLabel("")
        self.date_hint.setStyleSheet("color: #b00020")
        lay.addWidget(self.date_hint)
        lay.addStretch(1)
        self.set_facets(None)
        # Typing is debounced; everything else applies at once.
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.changed)
        for w in (self.search, self.date_from, self.date_to):
            w.textChanged.connect(lambda *_: self._debounce.start())
        for w in (self.images, self.videos, self.others, self.hide_known_good, self.bookmarked, self.collapse,
                  self.descending):
            w.toggled.connect(lambda *_: self.changed.emit())
        for w in (self.faces, self.category, self.tag, self.hashset, self.hash_set, self.camera, self.gps, self.errors,
                  self.deleted, self.sort, self.country, self.place):
            w.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.size.valueChanged.connect(self.thumb_size_changed)

    def set_facets(self, facets: dict | None) -> None:
        """Fill the choice lists from forensics.browse.facets, keeping current choices."""
        facets = facets or {}
        for combo in (self.category, self.tag, self.camera, self.country, self.place, self.hash_set):
            combo.blockSignals(True)
        cur_cat, cur_tag, cur_cam = self.category.currentData(), self.tag.currentData(), self.camera.currentData()
        cur_country, cur_place = self.country.currentData(), self.place.currentData()
        cur_set = self.hash_set.currentData()
        self.category.clear()
        self.category.addItem("any", None)
        self.category.addItem(f"uncategorised ({facets.get('uncategorised', 0):,})", UNCATEGORISED)
        for c in facets.get("categories", []):
            self.category.addItem(f"{c['id']} {c['name']} ({c['count']:,})", c["id"])
        self.tag.clear()
        self.tag.addItem("any", None)
        for t in facets.get("tags", []):
            self.tag.addItem(f"{t['name']} ({t['count']:,})", t["name"])
        self.camera.clear()
        self.camera.addItem("any", None)
        for c in facets.get("camera_models", []):
            self.camera.addItem(f"{c['model']} ({c['count']:,})", c["model"])
        self.country.clear()
        self.country.addItem("any", None)
        for c in facets.get("countries", []):
            self.country.addItem(f"{c['name']} ({c['code']}) ({c['count']:,})", c["code"])
        self.country.addItem("none (at sea, invalid or not yet named)", NO_COUNTRY)
        self.place.clear()
        self.place.addItem("any", None)
        for pl in facets.get("places", []):
            self.place.addItem(f"{pl['name']}, {pl['country_code'] or '-'} ({pl['count']:,})", pl["name"])
        self.hash_set.clear()
        self.hash_set.addItem("any set", None)
        for hs in facets.get("hash_sets", []):
            self.hash_set.addItem(f"{hs['name']} ({hs['kind']}) ({hs['items']:,})", hs["id"])
        for combo, cur in ((self.category, cur_cat), (self.tag, cur_tag), (self.camera, cur_cam),
                           (self.country, cur_country), (self.place, cur_place), (self.hash_set, cur_set)):
            i = combo.findData(cur)
            combo.setCurrentIndex(max(0, i))
            combo.blockSignals(False)
        if cur_set is not None and self.hash_set.currentData() is None:
            self.changed.emit()  # the chosen set was removed: the gallery no longer filters on it

    def set_area(self, area: tuple[tuple[float, float], ...] | None) -> None:
        """Filter to the positions inside a map lasso ((lon, lat) vertices), or stop."""
        self.area = tuple(area) if area else None
        self.area_label.setText(f'within the map lasso ({len(self.area)} points) · <a href="clear">clear</a>'
                                if self.area else "")
        self.changed.emit()

    def _date(self, edit: QLineEdit) -> str | None:
        t = edit.text().strip()
        if not t:
            return None
        if not _DATE.match(t):
            self.date_hint.setText(f"'{t}' is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD HH:MM)")
            return None
        return t.replace(" ", "T")

    def set_dates(self, date_from: str | None, date_to: str | None) -> None:
        """Fill both date fields at once (the timeline's brush) and apply them now."""
        for edit, text in ((self.date_from, date_from), (self.date_to, date_to)):
            edit.blockSignals(True)
            edit.setText((text or "").replace("T", " "))
            edit.blockSignals(False)
        self._debounce.stop()
        self.changed.emit()

    def filter(self) -> ItemFilter:
        self.date_hint.setText("")
        kinds = tuple(k for k, w in (("image", self.images), ("video", self.videos), ("other", self.others))
                      if w.isChecked())
        date_to = self._date(self.date_to)
        if date_to and len(date_to) < 10:  # "2021" or "2021-06" means through the end of it
            date_to += "-99" if len(date_to) == 7 else "-12-99"
        return ItemFilter(
            kinds=kinds or ("image", "video", "other"),
            has_faces=self.faces.currentData(),
            category=self.category.currentData(),
            tag=self.tag.currentData(),
            hashset_match=self.hashset.currentData(),
            hash_set=self.hash_set.currentData(),
            hide_known_good=self.hide_known_good.isChecked(),
            date_from=self._date(self.date_from),
            date_to=date_to,
            camera_model=self.camera.currentData(),
            has_gps=self.gps.currentData(),
            country=self.country.currentData(),
            place=self.place.currentData(),
            area=self.area,
            errors=self.errors.currentData(),
            deleted=self.deleted.currentData(),
            bookmarked=True if self.bookmarked.isChecked() else None,
            text=self.search.text().strip() or None,
            collapse_copies=self.collapse.isChecked(),
        )

    def sort_key(self) -> tuple[str, bool]:
        return self.sort.currentData(), self.descending.isChecked()
