"""How the activity timeline looks: colours per kind and category, the mark of each time
source over them (solid EXIF, hatched zone-unknown EXIF, dotted video creation, pale file
time), the texts of bins and ranges, and the legend that explains them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QBrush, QColor, QPainter
from PyQt6.QtWidgets import QWidget

from forensics import timeline as tl

KIND_COLOURS = {"image": "#4e79a7", "video": "#f28e2b", "other": "#59a14f"}
CATEGORY_COLOURS = ("#4e79a7", "#e15759", "#f28e2b", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                    "#9c755f", "#bab0ac")
UNCATEGORISED_COLOUR = "#9e9e9e"
# How each time source is drawn over its group's colour: (pattern, pattern colour, fill alpha).
SOURCE_STYLE = {
    "exif": (None, None, 255),
    "exif_local": (Qt.BrushStyle.BDiagPattern, "#ffffff", 255),
    "video": (Qt.BrushStyle.Dense6Pattern, "#ffffff", 255),
    "file": (None, None, 90),
}


def group_colours(points: tl.TimePoints | None) -> list[QColor]:
    if points is None:
        return []
    if points.split == "kind":
        return [QColor(KIND_COLOURS.get(k, "#777777")) for k in points.group_keys]
    return [QColor(UNCATEGORISED_COLOUR if k is None else CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)])
            for k in points.group_keys]


def segment_brushes(colour: QColor, source: str) -> list[QBrush]:
    """The fill, then the source's pattern over it, for one bar segment."""
    pattern, pcolour, alpha = SOURCE_STYLE[source]
    fill = QColor(colour)
    fill.setAlpha(alpha)
    out = [QBrush(fill)]
    if pattern is not None:
        out.append(QBrush(QColor(pcolour), pattern))
    return out


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(0, timezone.utc) + timedelta(seconds=int(seconds))


def edge_label(seconds: float, unit: str) -> str:
    d = utc(seconds)
    if unit == "year":
        return d.strftime("%Y")
    if unit == "month":
        return d.strftime("%b %Y") if d.month == 1 else d.strftime("%b")
    if unit in ("day", "week"):
        return d.strftime("%d %b %Y") if d.day <= (7 if unit == "week" else 1) and d.month == 1 else d.strftime("%d %b")
    return d.strftime("%d %b %H:%M") if d.hour == 0 and d.minute == 0 else d.strftime("%H:%M")


def range_text(start: float, end: float) -> str:
    """A bin or brush for people: "2024-05-01 09:00 – 10:00"."""
    a, b = utc(start), utc(end)
    if int(start) % 86400 == 0 and int(end) % 86400 == 0:
        last = b - timedelta(days=1)
        return a.strftime("%Y-%m-%d") + ("" if last.date() == a.date() else " – " + last.strftime("%Y-%m-%d"))
    same = a.date() == b.date()
    return a.strftime("%Y-%m-%d %H:%M") + " – " + b.strftime("%H:%M" if same else "%Y-%m-%d %H:%M")


class Legend(QWidget):
    """Swatches for the groups and the time sources, with counts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[tuple[list[QBrush], str]] = []
        self._spots: list[tuple[float, float]] = []
        self.setMinimumHeight(22)

    ROW = 18

    def set_points(self, points: tl.TimePoints | None) -> None:
        self.entries = []
        if points is not None:
            grey = QColor("#707070")
            for colour, (g, n) in zip(group_colours(points), points.group_totals().items()):
                if n or points.split == "kind":
                    self.entries.append(([QBrush(colour)], f"{g} {n:,}"))
            for s, n in points.source_totals().items():
                self.entries.append((segment_brushes(grey, s), f"{tl.SOURCE_LABELS[s]} {n:,}"))
            if points.undated:
                self.entries.append(([], f"no readable time {points.undated:,} (not shown)"))
        self._place()

    def _place(self) -> None:
        """Entries left to right, wrapping onto as many rows as the width needs."""
        fm = self.fontMetrics()
        self._spots: list[tuple[float, float]] = []
        x, row = 4.0, 0
        for brushes, text in self.entries:
            w = (22 if brushes else 0) + fm.horizontalAdvance(text) + 14
            if x + w > self.width() and x > 4:
                x, row = 4.0, row + 1
            self._spots.append((x, row * self.ROW + 3))
            x += w
        self.setMinimumHeight((row + 1) * self.ROW + 4)
        self.update()

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        self._place()

    def sizeHint(self) -> QSize:
        return QSize(800, self.minimumHeight())

    def paintEvent(self, e) -> None:  # noqa: N802
        qp = QPainter(self)
        qp.setPen(self.palette().text().color())
        for (brushes, text), (x, y) in zip(self.entries, self._spots):
            if brushes:
                r = QRectF(x, y, 18, 12)
                for b in brushes:
                    qp.fillRect(r, b)
                qp.drawRect(r)
                x += 22
            qp.drawText(QPointF(x, y + 11), text)
        qp.end()
