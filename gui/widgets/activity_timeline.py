"""The activity timeline: stacked bars of capture times over a zoomable axis.

Wheel zooms around the cursor (years down to minutes), dragging with the right or middle
button (or Shift and the left) pans, dragging with the left button brushes a range of
whole bins, a click selects one bin; Home resets the zoom and Esc clears the brush. The
widget only draws: the points come from forensics.timeline (loaded off the GUI thread by
gui.controllers.timeline), and each view change bins them with a few numpy calls and lays
the bars out once, so a paint only replays prepared rectangles.

Bars stack by kind or category (the colours); the time source marks each segment: solid
for an EXIF capture time, hatched for an EXIF time with no zone (placed at its local
wall-clock time), dotted for a video's creation time, pale for a file time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPen, QWheelEvent
from PyQt6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolTip, QVBoxLayout,
                             QWidget)

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
MIN_SPAN = 20 * 60  # the closest zoom: twenty minutes across, minute bins
MAX_SPAN = 200 * 365 * 86400
# The view stays within years 1000-9000, so labels never leave what datetime can show
# (a damaged file can claim any year).
T_MIN, T_MAX = -30610224000.0, 221845392000.0
AXIS_NOTE = "Axis: UTC; EXIF times with no zone at their local wall-clock time (hatched)"


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


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(0, timezone.utc) + timedelta(seconds=int(seconds))


def edge_label(seconds: float, unit: str) -> str:
    d = _utc(seconds)
    if unit == "year":
        return d.strftime("%Y")
    if unit == "month":
        return d.strftime("%b %Y") if d.month == 1 else d.strftime("%b")
    if unit in ("day", "week"):
        return d.strftime("%d %b %Y") if d.day <= (7 if unit == "week" else 1) and d.month == 1 else d.strftime("%d %b")
    return d.strftime("%d %b %H:%M") if d.hour == 0 and d.minute == 0 else d.strftime("%H:%M")


def range_text(start: float, end: float) -> str:
    """A bin or brush for people: "2024-05-01 09:00 – 10:00"."""
    a, b = _utc(start), _utc(end)
    if int(start) % 86400 == 0 and int(end) % 86400 == 0:
        last = b - timedelta(days=1)
        return a.strftime("%Y-%m-%d") + ("" if last.date() == a.date() else " – " + last.strftime("%Y-%m-%d"))
    same = a.date() == b.date()
    return a.strftime("%Y-%m-%d %H:%M") + " – " + b.strftime("%H:%M" if same else "%Y-%m-%d %H:%M")


class TimelineCanvas(QWidget):
    """The bars, the axis and the brush."""

    brushed = pyqtSignal(object)  # (start, end) POSIX seconds, end exclusive; None when cleared
    view_changed = pyqtSignal()
    MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 46, 10, 8, 32

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.points: tl.TimePoints | None = None
        self.view: tuple[float, float] = (0.0, 86400.0)
        self.brush: tuple[int, int] | None = None
        self.hist: tl.Histogram | None = None
        self._colours: list[QColor] = []
        self._bars: list[tuple[list[QBrush], list[QRectF]]] = []
        self._ticks: list[tuple[float, str]] = []
        self._ymax = 0
        self._drag: tuple[str, float, float, tuple[float, float]] | None = None  # mode, x, t, view at press
        self._live: tuple[float, float] | None = None  # the brush being dragged (unsnapped)

    # -- data and view ------------------------------------------------------------------
    def set_points(self, points: tl.TimePoints | None, keep_view: bool = False) -> None:
        self.points = points
        self._colours = group_colours(points)
        if not keep_view or points is None:
            self.view = self.home_view()
        self._rebin()

    def home_view(self) -> tuple[float, float]:
        span = self.points.span() if self.points is not None else None
        if span is None:
            now = datetime.now(timezone.utc).timestamp()
            return now - 365 * 86400, now
        lo, hi = span
        pad = max(MIN_SPAN / 2, (hi - lo) * 0.03)
        return lo - pad, hi + 1 + pad

    def reset_view(self) -> None:
        self.view = self.home_view()
        self._rebin()

    def set_view(self, start: float, end: float) -> None:
        span = min(MAX_SPAN, max(MIN_SPAN, end - start))
        mid = (start + end) / 2
        self.view = (mid - span / 2, mid + span / 2)
        self._rebin()

    def zoom(self, factor: float, at: float | None = None) -> None:
        """Zoom by `factor` (< 1 zooms in) keeping time `at` (default: the centre) in place."""
        v0, v1 = self.view
        at = (v0 + v1) / 2 if at is None else at
        span = min(MAX_SPAN, max(MIN_SPAN, (v1 - v0) * factor))
        frac = (at - v0) / (v1 - v0)
        self.view = (at - frac * span, at - frac * span + span)
        self._rebin()

    def pan(self, seconds: float) -> None:
        v0, v1 = self.view
        self.view = (v0 + seconds, v1 + seconds)
        self._rebin()

    def set_brush(self, brush: tuple[int, int] | None) -> None:
        """Show a range chosen elsewhere (the filter's date fields); emits nothing."""
        self.brush = brush
        self._live = None
        self.update()

    def clear_brush(self) -> None:
        if self.brush is not None:
            self.brush = None
            self.update()
            self.brushed.emit(None)

    def max_bins(self) -> int:
        return max(8, int(self._plot().width() // 5))

    def _plot(self) -> QRectF:
        return QRectF(self.MARGIN_L, self.MARGIN_T, max(10, self.width() - self.MARGIN_L - self.MARGIN_R),
                      max(10, self.height() - self.MARGIN_T - self.MARGIN_B))

    def x_of(self, t: float) -> float:
        p, (v0, v1) = self._plot(), self.view
        return p.left() + (t - v0) / (v1 - v0) * p.width()

    def t_of(self, x: float) -> float:
        p, (v0, v1) = self._plot(), self.view
        return v0 + (x - p.left()) / p.width() * (v1 - v0)

    def _rebin(self) -> None:
        v0, v1 = self.view
        if v0 < T_MIN or v1 > T_MAX:
            span = min(v1 - v0, T_MAX - T_MIN)
            v0 = min(max(v0, T_MIN), T_MAX - span)
            self.view = (v0, v0 + span)
        if self.points is not None:
            self.hist = tl.histogram(self.points, self.view[0], self.view[1], self.max_bins())
        else:
            self.hist = None
        self._layout()
        self.update()
        self.view_changed.emit()

    def _layout(self) -> None:
        """Turn the histogram into rectangles per brush, once per view change."""
        self._bars, self._ticks, self._ymax = [], [], 0
        h = self.hist
        if h is None:
            return
        p = self._plot()
        n_bins, n_groups, n_sources = h.counts.shape
        seg = h.counts.reshape(n_bins, n_groups * n_sources)
        totals = seg.sum(axis=1)
        self._ymax = int(totals.max()) if n_bins else 0
        x = (p.left() + (h.edges.astype(np.float64) - self.view[0]) / (self.view[1] - self.view[0]) * p.width())
        if self._ymax:
            scale = p.height() / self._ymax
            tops = p.bottom() - np.cumsum(seg, axis=1) * scale
            bottoms = tops + seg * scale
            per: dict[int, list[QRectF]] = {}
            for b, k in zip(*np.nonzero(seg)):
                x0, x1 = x[b], x[b + 1]
                gap = 1.0 if x1 - x0 > 4 else 0.0
                per.setdefault(int(k), []).append(QRectF(x0 + gap / 2, tops[b, k], max(1.0, x1 - x0 - gap),
                                                         bottoms[b, k] - tops[b, k]))
            for k, rects in sorted(per.items()):
                g, s = divmod(k, n_sources)
                self._bars.append((segment_brushes(self._colours[g], tl.SOURCES[s]), rects))
        # Ticks on calendar boundaries at least ~80 px apart (their own width, not the bins').
        v0, v1 = self.view
        unit, step = tl.choose_width(v0, v1, max(2, int(p.width() // 80)))
        for e in tl.bin_edges(v0, v1, unit, step):
            tx = p.left() + (e - v0) / (v1 - v0) * p.width()
            if p.left() - 1 <= tx <= p.right() - 40:
                self._ticks.append((float(tx), edge_label(e, unit)))

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(e)
        self._rebin()

    def sizeHint(self) -> QSize:
        return QSize(800, 170)

    # -- painting -----------------------------------------------------------------------
    def paintEvent(self, e) -> None:  # noqa: N802
        qp = QPainter(self)
        p = self._plot()
        qp.fillRect(self.rect(), self.palette().base())
        pal_text = self.palette().text().color()
        shown = self._shown_brush()
        if shown is not None:
            x0, x1 = self.x_of(shown[0]), self.x_of(shown[1])
            qp.fillRect(QRectF(x0, p.top(), max(2.0, x1 - x0), p.height()), QColor(255, 214, 10, 70))
        qp.save()
        qp.setClipRect(p)
        qp.setPen(Qt.PenStyle.NoPen)
        for brushes, rects in self._bars:
            for b in brushes:
                qp.setBrush(b)
                qp.drawRects(rects)
        qp.restore()
        if shown is not None:
            qp.setPen(QPen(QColor("#c79100"), 2))
            for t in shown:
                x = self.x_of(t)
                if p.left() <= x <= p.right():
                    qp.drawLine(QPointF(x, p.top()), QPointF(x, p.bottom()))
        axis = QPen(pal_text)
        qp.setPen(axis)
        qp.drawLine(QPointF(p.left(), p.bottom()), QPointF(p.right(), p.bottom()))
        qp.drawLine(QPointF(p.left(), p.top()), QPointF(p.left(), p.bottom()))
        fm = qp.fontMetrics()
        for x, label in self._ticks:
            qp.drawLine(QPointF(x, p.bottom()), QPointF(x, p.bottom() + 4))
            qp.drawText(QPointF(x + 2, p.bottom() + 4 + fm.ascent()), label)
        qp.drawText(QRectF(0, p.top() - 2, self.MARGIN_L - 4, fm.height()),
                    Qt.AlignmentFlag.AlignRight, f"{self._ymax:,}")
        qp.drawText(QRectF(0, p.bottom() - fm.height(), self.MARGIN_L - 4, fm.height()),
                    Qt.AlignmentFlag.AlignRight, "0")
        if self.points is None or not len(self.points):
            qp.drawText(p, Qt.AlignmentFlag.AlignCenter,
                        "Loading…" if self.points is None else "No dated items match the filter")
        qp.end()

    def _shown_brush(self) -> tuple[float, float] | None:
        if self._live is not None and self.hist is not None:
            return tl.snap(self.hist.edges, *self._live)
        return self.brush

    # -- interaction -----------------------------------------------------------------------
    def wheelEvent(self, e: QWheelEvent) -> None:  # noqa: N802
        d = e.angleDelta()
        if d.y():
            self.zoom(0.8 ** (d.y() / 120), self.t_of(e.position().x()))
        elif d.x():
            self.pan(-(d.x() / 120) * 0.1 * (self.view[1] - self.view[0]))
        e.accept()

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        x = e.position().x()
        pan = e.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton) or (
            e.button() == Qt.MouseButton.LeftButton and e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if pan:
            self._drag = ("pan", x, self.t_of(x), self.view)
        elif e.button() == Qt.MouseButton.LeftButton:
            self._drag = ("brush", x, self.t_of(x), self.view)
            self._live = (self._drag[2], self._drag[2])
            self.update()

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        x = e.position().x()
        if self._drag is None:
            self._hover(e)
            return
        mode, x0, t0, (v0, v1) = self._drag
        if mode == "pan":
            dt = (x0 - x) / self._plot().width() * (v1 - v0)
            self.view = (v0 + dt, v1 + dt)
            self._rebin()
        else:
            self._live = (t0, self.t_of(x))
            self.update()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        drag, self._drag = self._drag, None
        if drag is None or drag[0] != "brush" or self._live is None or self.hist is None:
            return
        live, self._live = self._live, None
        if abs(e.position().x() - drag[1]) < 3:  # a click selects the bin under it
            live = (drag[2], drag[2])
        self.brush = tl.snap(self.hist.edges, *live)
        self.update()
        self.brushed.emit(self.brush)

    def keyPressEvent(self, e) -> None:  # noqa: N802
        key = e.key()
        span = self.view[1] - self.view[0]
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(0.5)
        elif key == Qt.Key.Key_Minus:
            self.zoom(2.0)
        elif key == Qt.Key.Key_Left:
            self.pan(-0.1 * span)
        elif key == Qt.Key.Key_Right:
            self.pan(0.1 * span)
        elif key == Qt.Key.Key_Home:
            self.reset_view()
        elif key == Qt.Key.Key_Escape:
            self.clear_brush()
        else:
            super().keyPressEvent(e)

    def bin_at(self, x: float) -> int | None:
        h = self.hist
        if h is None:
            return None
        b = int(np.searchsorted(h.edges, self.t_of(x), "right")) - 1
        return b if 0 <= b < len(h.edges) - 1 else None

    def bin_text(self, b: int) -> str:
        h = self.hist
        lines = [f"<b>{range_text(h.edges[b], h.edges[b + 1])}</b> (bin: {h.width_label})"]
        total = int(h.totals()[b])
        lines.append(f"{total:,} item(s)")
        for g, n in zip(h.groups, h.by_group()[b]):
            if n:
                lines.append(f"{g}: {int(n):,}")
        for s, n in zip(tl.SOURCES, h.by_source()[b]):
            if n:
                lines.append(f"<i>{tl.SOURCE_LABELS[s]}: {int(n):,}</i>")
        return "<br>".join(lines)

    def _hover(self, e: QMouseEvent) -> None:
        b = self.bin_at(e.position().x())
        if b is None or self.hist is None or not self.hist.totals()[b]:
            QToolTip.hideText()
            return
        QToolTip.showText(e.globalPosition().toPoint(), self.bin_text(b), self)


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


class ActivityTimeline(QWidget):
    """The timeline panel: controls, the canvas and its legend."""

    brushed = pyqtSignal(object)  # (start, end) seconds or None
    split_changed = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        top = QHBoxLayout()
        lay.addLayout(top)
        self.split = QComboBox()
        self.split.addItem("Split by kind", "kind")
        self.split.addItem("Split by category", "category")
        top.addWidget(self.split)
        self.bin_label = QLabel("")
        top.addWidget(self.bin_label)
        self.brush_label = QLabel("")
        top.addWidget(self.brush_label, 1)
        self.zoom_brush = QPushButton("Zoom to selection")
        self.reset = QPushButton("Reset zoom")
        self.clear = QPushButton("Clear selection")
        for b in (self.zoom_brush, self.reset, self.clear):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            top.addWidget(b)
        self.canvas = TimelineCanvas()
        lay.addWidget(self.canvas, 1)
        self.legend = Legend()
        lay.addWidget(self.legend)
        note = QLabel(AXIS_NOTE + ". Wheel: zoom · drag: select · right-drag or Shift-drag: pan")
        note.setStyleSheet("color: palette(mid)")
        lay.addWidget(note)
        self.split.currentIndexChanged.connect(lambda *_: self.split_changed.emit(self.split.currentData()))
        self.reset.clicked.connect(lambda *_: self.canvas.reset_view())
        self.clear.clicked.connect(lambda *_: self.canvas.clear_brush())
        self.zoom_brush.clicked.connect(lambda *_: self._zoom_to_brush())
        self.canvas.brushed.connect(self._brushed)
        self.canvas.view_changed.connect(self._show_state)

    def current_split(self) -> str:
        return self.split.currentData()

    def set_points(self, points: tl.TimePoints | None) -> None:
        same = (points is not None and self.canvas.points is not None
                and points.split == self.canvas.points.split and len(self.canvas.points))
        self.canvas.set_points(points, keep_view=bool(same))
        self.legend.set_points(points)

    def set_brush(self, brush: tuple[int, int] | None) -> None:
        self.canvas.set_brush(brush)
        self._show_state()

    def _brushed(self, brush) -> None:
        self._show_state()
        self.brushed.emit(brush)

    def _zoom_to_brush(self) -> None:
        b = self.canvas.brush
        if b is not None:
            pad = (b[1] - b[0]) * 0.05
            self.canvas.set_view(b[0] - pad, b[1] + pad)

    def _show_state(self) -> None:
        h = self.canvas.hist
        v0, v1 = self.canvas.view
        fmt = "%Y-%m-%d %H:%M" if v1 - v0 < 4 * 86400 else "%Y-%m-%d"
        self.bin_label.setText(f"bins: {h.width_label} · showing {_utc(v0).strftime(fmt)} – {_utc(v1).strftime(fmt)}"
                               if h is not None else "")
        b = self.canvas.brush
        self.brush_label.setText(f"Selected: {range_text(*b)}" if b else "")
        self.zoom_brush.setEnabled(b is not None)
        self.clear.setEnabled(b is not None)
