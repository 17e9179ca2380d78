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

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from forensics import timeline as tl
from gui.widgets.timeline_canvas import TimelineCanvas
from gui.widgets.timeline_style import Legend, range_text, utc

AXIS_NOTE = "Axis: UTC; EXIF times with no zone at their local wall-clock time (hatched)"


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
        self.log = QCheckBox("Log scale")
        self.log.setToolTip("Heights on a log scale, so a burst does not flatten the quiet periods around it")
        top.addWidget(self.log)
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
        self.log.toggled.connect(lambda on: self.canvas.set_log_scale(on))
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
        self.bin_label.setText(f"bins: {h.width_label} · showing {utc(v0).strftime(fmt)} – {utc(v1).strftime(fmt)}"
                               if h is not None else "")
        b = self.canvas.brush
        self.brush_label.setText(f"Selected: {range_text(*b)}" if b else "")
        self.zoom_brush.setEnabled(b is not None)
        self.clear.setEnabled(b is not None)
