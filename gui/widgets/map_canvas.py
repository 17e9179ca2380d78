"""The map canvas: base-layer tiles, clustered positions with counts, zoom and pan, a
click that selects the items of a point or cluster, and a lasso.

Positions are clustered on a quadtree (forensics.places.mapgrid.QuadIndex) once per zoom
level; a paint draws only the clusters in view, so 100,000 positions cost the same as a
few hundred markers. No QGraphicsItem per position."""
from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QFont, QMouseEvent, QPainter, QPen, QWheelEvent
from PyQt6.QtWidgets import QWidget

from forensics.places import mapgrid
from gui.widgets.map_tiles import BaseTiles, draw_tiles, polygon

MIN_ZOOM, MAX_ZOOM = 0, 19
CELL_PX = 64  # cluster cell, on screen
DRAG_PX = 4  # a press that moves less than this is a click
MARKER = QColor("#d9480f")
SELECTED = QColor("#1c7ed6")


def marker_radius(count: int) -> float:
    return 5.0 if count == 1 else min(26.0, 9.0 + 4.0 * math.log10(count))


def count_text(count: int) -> str:
    return f"{count:,}" if count < 10_000 else f"{count // 1000}k"


class MapCanvas(QWidget):
    clicked_items = pyqtSignal(list)  # item ids of the clicked point or cluster ([] for empty ground)
    lasso_drawn = pyqtSignal(list)  # [(lon, lat), ...] of the drawn polygon
    view_changed = pyqtSignal()

    def __init__(self, tiles: BaseTiles | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = tiles or BaseTiles()
        self.zoom = 2
        self.cx, self.cy = 0.5, 0.42  # view centre, world units
        self.ids = np.zeros(0, np.int64)
        self.index = mapgrid.QuadIndex(np.zeros(0), np.zeros(0))
        self.lasso_mode = False
        self.tiles_waiting = 0  # tiles the last paint could not render in its time budget
        self.area: list[tuple[float, float]] | None = None  # world units of the active lasso
        self.selected_at: tuple[float, float] | None = None
        self._press: QPointF | None = None
        self._drag_from: tuple[float, float] | None = None
        self._lasso: list[QPointF] = []
        self.setMinimumSize(320, 240)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._font = QFont(self.font())
        self._font.setPointSizeF(8.5)
        self._font.setBold(True)

    # -- data -----------------------------------------------------------------------
    def set_points(self, ids: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        x, y = mapgrid.project(lat, lon)
        self.ids = np.asarray(ids, np.int64)
        self.index = mapgrid.QuadIndex(x, y)
        self.selected_at = None
        self.update()

    def clusters(self) -> mapgrid.Clusters:
        return self.index.clusters(mapgrid.cluster_depth(self.zoom, CELL_PX))

    def cluster_ids(self, k: int) -> list[int]:
        """Item ids of cluster k at the current zoom, in id order."""
        return sorted(self.ids[self.clusters().members(k)].tolist())

    # -- geometry ----------------------------------------------------------------------
    @property
    def scale(self) -> float:
        return mapgrid.scale(self.zoom)

    def view_origin(self) -> tuple[float, float]:
        """World pixel at the widget's top-left corner."""
        s = self.scale
        return self.cx * s - self.width() / 2, self.cy * s - self.height() / 2

    def to_screen(self, x: float, y: float) -> QPointF:
        left, top = self.view_origin()
        return QPointF(x * self.scale - left, y * self.scale - top)

    def to_world(self, p: QPointF) -> tuple[float, float]:
        left, top = self.view_origin()
        return (p.x() + left) / self.scale, (p.y() + top) / self.scale

    def set_view(self, cx: float, cy: float, zoom: int | None = None) -> None:
        if zoom is not None:
            self.zoom = int(min(max(zoom, MIN_ZOOM), MAX_ZOOM))
        self.cx, self.cy = float(min(max(cx, 0.0), 1.0)), float(min(max(cy, 0.0), 1.0))
        self.update()
        self.view_changed.emit()

    def zoom_at(self, p: QPointF, steps: int) -> None:
        """Zoom by `steps` levels keeping the world point under `p` where it is."""
        wx, wy = self.to_world(p)
        zoom = int(min(max(self.zoom + steps, MIN_ZOOM), MAX_ZOOM))
        s = mapgrid.scale(zoom)
        self.set_view(wx - (p.x() - self.width() / 2) / s, wy - (p.y() - self.height() / 2) / s, zoom)

    def fit(self) -> None:
        """Show every position (the world when there are none)."""
        if not len(self.index):
            self.set_view(0.5, 0.42, max(1, int(math.log2(max(self.width(), 256) / 256))))
            return
        x0, x1 = float(self.index.x.min()), float(self.index.x.max())
        y0, y1 = float(self.index.y.min()), float(self.index.y.max())
        span = max(x1 - x0, (y1 - y0) * self.width() / max(1, self.height()), 1e-7)
        zoom = int(math.floor(math.log2(self.width() * 0.8 / (mapgrid.TILE * span))))
        self.set_view((x0 + x1) / 2, (y0 + y1) / 2, min(zoom, 16))

    def cluster_at(self, p: QPointF) -> int | None:
        """The cluster whose marker is under `p` (the nearest when markers overlap)."""
        c = self.clusters()
        if not len(c):
            return None
        sx, sy = self.to_screen(0, 0).x(), self.to_screen(0, 0).y()
        d = np.hypot(c.x * self.scale + sx - p.x(), c.y * self.scale + sy - p.y())
        k = int(np.argmin(d))
        return k if d[k] <= marker_radius(int(c.counts[k])) + 3 else None

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, e) -> None:  # noqa: N802
        p = QPainter(self)
        left, top = self.view_origin()
        self.tiles_waiting = draw_tiles(p, self.tiles, self.zoom, left, top, self.width(), self.height())
        if self.tiles_waiting:
            QTimer.singleShot(0, self.update)  # tiles still to render: one frame at a time
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._draw_area(p)
        self._draw_clusters(p, left, top)
        if self._lasso:
            pen = QPen(SELECTED, 2, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.setBrush(QBrush(QColor(28, 126, 214, 40)))
            p.drawPolygon(polygon(np.array([[q.x(), q.y()] for q in self._lasso])))
        p.end()

    def _draw_area(self, p: QPainter) -> None:
        if not self.area:
            return
        pts = np.array([[self.to_screen(x, y).x(), self.to_screen(x, y).y()] for x, y in self.area])
        p.setPen(QPen(SELECTED, 2, Qt.PenStyle.DashLine))
        p.setBrush(QBrush(QColor(28, 126, 214, 30)))
        p.drawPolygon(polygon(pts))

    def _draw_clusters(self, p: QPainter, left: float, top: float) -> None:
        c = self.clusters()
        s = self.scale
        w, h = self.width(), self.height()
        vis = c.visible(left / s, top / s, (left + w) / s, (top + h) / s, margin=30 / s)
        if not len(vis):
            return
        xs = c.x[vis] * s - left
        ys = c.y[vis] * s - top
        counts = c.counts[vis]
        p.setFont(self._font)
        white = QPen(QColor("white"), 1.5)
        for x, y, n in zip(xs.tolist(), ys.tolist(), counts.tolist()):
            r = marker_radius(n)
            p.setPen(white)
            p.setBrush(MARKER)
            p.drawEllipse(QPointF(x, y), r, r)
            if n > 1:
                p.drawText(QRectF(x - r, y - r, 2 * r, 2 * r), Qt.AlignmentFlag.AlignCenter, count_text(n))
        if self.selected_at is not None:
            q = QPointF(self.selected_at[0] * s - left, self.selected_at[1] * s - top)
            p.setPen(QPen(SELECTED, 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(q, 14, 14)

    # -- input -------------------------------------------------------------------------
    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if e.button() != Qt.MouseButton.LeftButton:
            return
        self._press = e.position()
        if self.lasso_mode or e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._lasso = [e.position()]
        else:
            self._drag_from = (self.cx, self.cy)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._press is None:
            return
        if self._lasso:
            self._lasso.append(e.position())
            self.update()
        elif self._drag_from is not None:
            d = e.position() - self._press
            self.set_view(self._drag_from[0] - d.x() / self.scale, self._drag_from[1] - d.y() / self.scale)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._press is None or e.button() != Qt.MouseButton.LeftButton:
            return
        moved = (e.position() - self._press).manhattanLength()
        press, self._press, self._drag_from = self._press, None, None
        if self._lasso:
            pts, self._lasso = self._lasso + [e.position()], []
            if len(pts) >= 3 and moved + sum((pts[i] - pts[i - 1]).manhattanLength() for i in range(1, len(pts))) > 3 * DRAG_PX:
                self.finish_lasso(pts)
            self.update()
            return
        if moved < DRAG_PX:
            self.click(press)

    def click(self, p: QPointF) -> None:
        """Select the items of the marker under `p` (none when it is empty ground)."""
        k = self.cluster_at(p)
        c = self.clusters()
        self.selected_at = None if k is None else (float(c.x[k]), float(c.y[k]))
        self.update()
        self.clicked_items.emit([] if k is None else self.cluster_ids(k))

    def finish_lasso(self, screen_points: list[QPointF]) -> None:
        """Close a lasso drawn through `screen_points` and emit its (lon, lat) vertices
        (thinned to at most 200, which the area filter tests each position against)."""
        step = max(1, len(screen_points) // 200)
        world = [self.to_world(q) for q in screen_points[::step]]
        self.area = world
        lat, lon = mapgrid.unproject(np.array([w[0] for w in world]), np.array([w[1] for w in world]))
        self.update()
        self.lasso_drawn.emit([(float(a), float(b)) for a, b in zip(lon.tolist(), lat.tolist())])

    def clear_area(self) -> None:
        self.area = None
        self.update()

    def wheelEvent(self, e: QWheelEvent) -> None:  # noqa: N802
        steps = 1 if e.angleDelta().y() > 0 else -1 if e.angleDelta().y() < 0 else 0
        if steps:
            self.zoom_at(e.position(), steps)

    def keyPressEvent(self, e) -> None:  # noqa: N802
        centre = QPointF(self.width() / 2, self.height() / 2)
        pan = 0.25 * min(self.width(), self.height()) / self.scale
        key = e.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_at(centre, 1)
        elif key == Qt.Key.Key_Minus:
            self.zoom_at(centre, -1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            dx = {Qt.Key.Key_Left: -pan, Qt.Key.Key_Right: pan}.get(key, 0.0)
            dy = {Qt.Key.Key_Up: -pan, Qt.Key.Key_Down: pan}.get(key, 0.0)
            self.set_view(self.cx + dx, self.cy + dy)
        else:
            super().keyPressEvent(e)
