"""The timeline's bars, axis and brush (gui.widgets.activity_timeline puts them in a panel).

Each view change bins the points with a few numpy calls and lays the bars out once as
rectangle lists per brush, so a paint only replays prepared rectangles."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPen, QWheelEvent
from PyQt6.QtWidgets import QSizePolicy, QToolTip, QWidget

from forensics import timeline as tl
from gui.widgets.timeline_style import edge_label, group_colours, range_text, segment_brushes

MIN_SPAN = 20 * 60  # the closest zoom: twenty minutes across, minute bins
MAX_SPAN = 200 * 365 * 86400
# The view stays within years 1000-9000, so labels never leave what datetime can show
# (a damaged file can claim any year).
T_MIN, T_MAX = -30610224000.0, 221845392000.0


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
        self.log_scale = False
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

    def set_log_scale(self, on: bool) -> None:
        self.log_scale = bool(on)
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
            if self.log_scale:  # a burst must not flatten the quiet days around it
                bar = np.log1p(totals) / np.log1p(self._ymax) * p.height()
                scale = (bar / np.maximum(totals, 1))[:, None]
            else:
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
        if self.log_scale:
            qp.drawText(QRectF(0, p.top() + fm.height(), self.MARGIN_L - 4, fm.height()),
                        Qt.AlignmentFlag.AlignRight, "log")
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
