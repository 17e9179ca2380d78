"""A video's face tracks on a time axis; clicking a track (or the axis) asks for that moment."""
from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PyQt6.QtWidgets import QWidget

from gui.widgets.face_image import BOX_COLOURS
from gui.widgets.thumb_delegate import format_duration

LANE = 16


def span(t: dict) -> tuple[float, float]:
    """(start, end) seconds of a track dict from case.faces."""
    return float(t.get("start", t.get("start_time", 0.0))), float(t.get("end", t.get("end_time", 0.0)))


class TrackTimeline(QWidget):
    seek = pyqtSignal(float)  # seconds
    track_clicked = pyqtSignal(int, float)  # track id, start seconds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration = 1.0
        self.tracks: list[dict] = []
        self.position: float | None = None
        self.setMinimumHeight(40)

    def set_tracks(self, duration: float, tracks: list[dict]) -> None:
        self.duration = max(float(duration or 0.0), max((span(t)[1] for t in tracks), default=0.0), 0.001)
        self.tracks = sorted(tracks, key=lambda t: span(t)[0])
        self.setMinimumHeight(24 + LANE * max(1, len(self._lanes())))
        self.update()

    def set_position(self, seconds: float | None) -> None:
        self.position = seconds
        self.update()

    def _lanes(self) -> list[list[dict]]:
        lanes: list[list[dict]] = []
        for t in self.tracks:  # greedy interval packing so overlapping tracks stack
            for lane in lanes:
                if span(lane[-1])[1] < span(t)[0]:
                    lane.append(t)
                    break
            else:
                lanes.append([t])
        return lanes

    def _x(self, seconds: float) -> float:
        return 4 + (self.width() - 8) * seconds / self.duration

    def _rects(self) -> list[tuple[QRectF, dict]]:
        out = []
        for n, lane in enumerate(self._lanes()):
            for t in lane:
                x0, x1 = (self._x(v) for v in span(t))
                out.append((QRectF(x0, 18 + n * LANE, max(4.0, x1 - x0), LANE - 3), t))
        return out

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(40, 40, 40))
        p.setPen(QColor(200, 200, 200))
        p.drawLine(4, 14, self.width() - 4, 14)
        steps = 5
        for i in range(steps + 1):
            s = self.duration * i / steps
            x = int(self._x(s))
            p.drawLine(x, 10, x, 14)
            p.drawText(x + 2, 10, format_duration(s) if self.duration >= 60 else f"{s:.1f} s")
        for r, t in self._rects():
            colour = QColor(BOX_COLOURS[(t.get("person_id") or t["id"]) % len(BOX_COLOURS)])
            p.fillRect(r, colour)
            p.setPen(QColor("black"))
            label = t.get("person_name") or f"track {t['id']}"
            p.drawText(r.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, label)
        if self.position is not None:
            p.setPen(QColor("#ff1744"))
            x = int(self._x(self.position))
            p.drawLine(x, 0, x, self.height())

    def mousePressEvent(self, e: QMouseEvent) -> None:
        for r, t in self._rects():
            if r.contains(e.position()):
                self.track_clicked.emit(t["id"], span(t)[0])
                self.seek.emit(span(t)[0])
                return
        if self.width() > 8:
            self.seek.emit(max(0.0, (e.position().x() - 4) / (self.width() - 8) * self.duration))
