"""A picture with face boxes drawn over it, scaled to fit; clicking a box selects the face."""
from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

BOX_COLOURS = ["#00e676", "#ffea00", "#00b0ff", "#ff4081", "#ff9100", "#d500f9"]


def face_box(face: dict) -> tuple[float, float, float, float]:
    """(top, right, bottom, left) of a face record, whether the box is nested or flat."""
    b = face.get("box", face)
    if isinstance(b, (list, tuple)):
        return tuple(float(v) for v in b)  # type: ignore[return-value]
    get = (lambda k: b.get(k, b.get(f"box_{k}")))
    return float(get("top")), float(get("right")), float(get("bottom")), float(get("left"))


class FaceImage(QWidget):
    face_clicked = pyqtSignal(int)  # face id
    face_context = pyqtSignal(int, object)  # face id, global QPoint

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.source_size: tuple[int, int] | None = None  # oriented full-resolution size the boxes refer to
        self.faces: list[dict] = []
        self.selected_face: int | None = None
        self.placeholder = "No preview"
        self.setMinimumSize(200, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)

    def set_image(self, image: QImage | None, source_size: tuple[int, int] | None = None) -> None:
        self.image = image if image is not None and not image.isNull() else None
        self.source_size = source_size or ((self.image.width(), self.image.height()) if self.image else None)
        self.update()

    def set_faces(self, faces: list[dict]) -> None:
        self.faces = list(faces)
        self.update()

    def _target(self) -> QRectF:
        if self.image is None:
            return QRectF()
        iw, ih = self.image.width(), self.image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def face_rect(self, face: dict) -> QRectF:
        """Where a face box lies on the widget."""
        t = self._target()
        if t.isEmpty() or not self.source_size or not self.source_size[0]:
            return QRectF()
        sx = t.width() / self.source_size[0]
        sy = t.height() / self.source_size[1]
        top, right, bottom, left = face_box(face)
        return QRectF(t.x() + left * sx, t.y() + top * sy, (right - left) * sx, (bottom - top) * sy)

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(32, 32, 32))
        if self.image is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(self._target(), self.image)
        font = QFont()
        font.setBold(True)
        p.setFont(font)
        for n, f in enumerate(self.faces):
            colour = QColor(BOX_COLOURS[n % len(BOX_COLOURS)])
            r = self.face_rect(f)
            p.setPen(QPen(colour, 4 if f.get("id") == self.selected_face else 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r)
            label = f.get("person_name") or (f"{f.get('person_kind') or 'person'} {f['person_id']}"
                                             if f.get("person_id") else "")
            if label:
                metrics = p.fontMetrics()
                lw = metrics.horizontalAdvance(label) + 8
                lr = QRectF(r.x(), max(0.0, r.y() - 18), lw, 18)
                p.fillRect(lr, colour)
                p.setPen(QColor("black"))
                p.drawText(lr, Qt.AlignmentFlag.AlignCenter, label)

    def face_at(self, pos: QPointF) -> int | None:
        for f in self.faces:
            if self.face_rect(f).contains(pos):
                return f["id"]
        return None

    def mousePressEvent(self, e: QMouseEvent) -> None:
        fid = self.face_at(e.position())
        if fid is None:
            return super().mousePressEvent(e)
        self.selected_face = fid
        self.update()
        if e.button() == Qt.MouseButton.RightButton:
            self.face_context.emit(fid, e.globalPosition().toPoint())
        else:
            self.face_clicked.emit(fid)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        over = self.face_at(e.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(e)
