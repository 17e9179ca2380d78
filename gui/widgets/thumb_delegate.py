"""Paints one gallery cell: the thumbnail, its name, and badges (category, bookmark,
faces, hash-set match, copy group, error, video)."""
from __future__ import annotations

from PyQt6.QtCore import QModelIndex, QRect, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QPainter, QPen
from PyQt6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from gui.models.items import ROW_ROLE

# Colours for VICS categories 0-9 (0 = non-pertinent is grey).
CATEGORY_COLOURS = ["#8a8a8a", "#d62728", "#ff7f0e", "#9467bd", "#1f77b4",
                    "#2ca02c", "#17becf", "#bcbd22", "#e377c2", "#7f7f7f"]


_PLACEHOLDER = QColor(215, 215, 215)


def category_colour(cat: int) -> QColor:
    return QColor(CATEGORY_COLOURS[cat % 10])


# Hash-set match badge by what the item's most telling match means
# (forensics.store.hashset_status): only known-bad is red.
HASH_BADGE_COLOURS = {"known-bad": "#b00020", "categorised": "#e65100", "non-pertinent": "#607d8b",
                      "known-good": "#2e7d32"}


def hash_badge_colour(status: str | None) -> QColor:
    return QColor(HASH_BADGE_COLOURS.get(status or "", "#607d8b"))


def format_duration(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 60}:{s % 60:02d}"


class ThumbDelegate(QStyledItemDelegate):
    def __init__(self, size: int = 160, parent=None) -> None:
        super().__init__(parent)
        self.size = size
        self._font = QFont()
        self._font.setPointSizeF(8.0)
        self._bold = QFont(self._font)
        self._bold.setBold(True)

    def cell_size(self) -> QSize:
        """Every cell's size: the thumbnail box, a margin and the name line."""
        return QSize(self.size + 10, self.size + 26)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self.cell_size()

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        r = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        p.save()
        if selected:
            p.fillRect(r.adjusted(1, 1, -1, -1), pal.highlight())
        img = index.data(Qt.ItemDataRole.DecorationRole)
        box = QRect(r.x() + 5, r.y() + 5, self.size, self.size)
        if img is not None:
            x = box.x() + (box.width() - img.width()) // 2
            y = box.y() + (box.height() - img.height()) // 2
            p.drawImage(x, y, img)
        else:
            p.fillRect(box, _PLACEHOLDER)  # opaque: no blending while thumbnails arrive
        row = index.data(ROW_ROLE)
        if row:
            self._badges(p, box, row)
            p.setFont(self._font)
            p.setPen(pal.highlightedText().color() if selected else pal.text().color())
            text_rect = QRect(r.x() + 3, box.bottom() + 3, r.width() - 6, 16)
            name = p.fontMetrics().elidedText(row["name"], Qt.TextElideMode.ElideMiddle, text_rect.width())
            p.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, name)
        if option.state & QStyle.StateFlag.State_HasFocus:
            p.setPen(QPen(pal.highlight().color().darker(130), 2))
            p.drawRect(r.adjusted(1, 1, -2, -2))
        p.restore()

    def _badge(self, p: QPainter, x: int, y: int, text: str, bg: QColor, w: int | None = None) -> int:
        p.setFont(self._bold)
        w = w or max(18, p.fontMetrics().horizontalAdvance(text) + 8)
        rect = QRect(x, y, w, 16)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QColor("white"))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        return w

    def _badges(self, p: QPainter, box: QRect, row: dict) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        x, y = box.x() + 2, box.y() + 2
        if row.get("category") is not None:
            x += self._badge(p, x, y, str(row["category"]), category_colour(row["category"])) + 2
        if row.get("bookmarked"):
            x += self._badge(p, x, y, "★", QColor("#e6a700")) + 2
        if row.get("hash_matches"):
            # Red only for known-bad: a category-0 (non-pertinent) or known-good match is not.
            x += self._badge(p, x, y, "#", hash_badge_colour(row.get("hash_status"))) + 2
        if row.get("has_errors"):
            self._badge(p, x, y, "!", QColor("#c62828"))
        # Bottom row: video duration, faces, copy group.
        x, y = box.x() + 2, box.bottom() - 17
        if row.get("kind") == "video":
            x += self._badge(p, x, y, "▶ " + format_duration(row.get("duration")), QColor(0, 0, 0, 170)) + 2
        if row.get("faces"):
            x += self._badge(p, x, y, f"☺ {row['faces']}", QColor(20, 90, 160, 200)) + 2
        if row.get("copy_group"):
            self._badge(p, x, y, "copy", QColor(70, 70, 70, 200))  # plain text: symbol fonts vary
        if row.get("tags"):
            t = ", ".join(row["tags"])
            p.setFont(self._font)
            w = min(box.width() - 4, p.fontMetrics().horizontalAdvance(t) + 8)
            rect = QRect(box.right() - w - 1, box.y() + 2, w, 16)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 120, 80, 200))
            p.drawRoundedRect(rect, 4, 4)
            p.setPen(QColor("white"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter,
                       p.fontMetrics().elidedText(t, Qt.TextElideMode.ElideRight, w - 6))
