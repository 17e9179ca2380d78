"""A small list model of "cards" (face thumbnails, search results), each a thumbnail and
a caption, with thumbnails loaded lazily through a ThumbnailCache; and its delegate."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PyQt6.QtCore import QAbstractListModel, QModelIndex, QObject, QRect, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QPainter, QPen
from PyQt6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from gui.models.thumbs import ThumbnailCache

DATA_ROLE = Qt.ItemDataRole.UserRole + 10  # the card's payload dict


@dataclass(frozen=True)
class Card:
    key: Any  # cache key, e.g. ("face", 12) or ("item", 7)
    path: str | None  # thumbnail file
    caption: str
    detail: str = ""
    data: dict = field(default_factory=dict)
    accent: str | None = None  # colour of a marker strip (e.g. confirmed / suggested)


class CardModel(QAbstractListModel):
    def __init__(self, thumbs: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        self.cards: list[Card] = []
        self._rows: dict[Any, int] = {}
        thumbs.loaded.connect(self._loaded)

    def set_cards(self, cards: list[Card]) -> None:
        self.beginResetModel()
        self.cards = list(cards)
        self._rows = {c.key: n for n, c in enumerate(self.cards)}
        self.endResetModel()

    def card(self, row: int) -> Card:
        return self.cards[row]

    def _loaded(self, key: Any) -> None:
        r = self._rows.get(key)
        if r is not None:
            idx = self.index(r)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.cards)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        c = self.cards[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return c.caption
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(c.key, c.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{c.caption}\n{c.detail}".strip()
        if role == DATA_ROLE:
            return c
        return None


class CardDelegate(QStyledItemDelegate):
    """Thumbnail with a caption and a detail line under it."""

    def __init__(self, size: int, parent=None) -> None:
        super().__init__(parent)
        self.size = size
        self.font = QFont()
        self.font.setPointSizeF(8.0)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(max(self.size, 150) + 8, self.size + 40)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        r = option.rect
        c: Card = index.data(DATA_ROLE)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.save()
        if selected:
            p.fillRect(r.adjusted(1, 1, -1, -1), option.palette.highlight())
        img = index.data(Qt.ItemDataRole.DecorationRole)
        box = QRect(r.x() + (r.width() - self.size) // 2, r.y() + 4, self.size, self.size)
        if img is not None:
            p.drawImage(box.x() + (self.size - img.width()) // 2, box.y() + (self.size - img.height()) // 2, img)
        else:
            p.fillRect(box, QColor(60, 60, 60, 40))
        if c.accent:
            p.setPen(QPen(QColor(c.accent), 3))
            p.drawLine(box.bottomLeft(), box.bottomRight())
        p.setFont(self.font)
        p.setPen(option.palette.highlightedText().color() if selected else option.palette.text().color())
        fm = p.fontMetrics()
        for n, text in enumerate((c.caption, c.detail)):
            line = QRect(r.x() + 2, box.bottom() + 3 + n * 15, r.width() - 4, 15)
            p.drawText(line, Qt.AlignmentFlag.AlignHCenter, fm.elidedText(text, Qt.TextElideMode.ElideMiddle, line.width()))
        p.restore()
