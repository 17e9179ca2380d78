"""The gallery: filter panel beside a virtualised thumbnail grid.

The grid is a QListView in list mode with left-to-right flow, wrapping and uniform item
sizes: Qt then lays out 100,000 cells arithmetically instead of measuring each one, and
only the cells on screen are ever asked for data. A fixed grid and an always-present
vertical scroll bar keep that layout to one pass of one model call a row (see
GalleryList.set_cell). Keys categorise, tag and bookmark the
selection; the main window carries out the edit.
"""
from __future__ import annotations

from PyQt6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QAbstractItemView, QHBoxLayout, QListView, QWidget

from forensics.browse import ItemFilter
from gui.models.items import ID_ROLE, ItemListModel
from gui.widgets.filter_panel import FilterPanel
from gui.widgets.thumb_delegate import ThumbDelegate

SPACING = 2  # pixels between cells


class GalleryList(QListView):
    categorise = pyqtSignal(int)  # 0-9
    tag_requested = pyqtSignal()
    bookmark_requested = pyqtSignal()
    preview_requested = pyqtSignal(int)  # item id
    painted = pyqtSignal()  # the cells on screen were painted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSpacing(SPACING)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A scroll bar that appears once the rows overflow narrows the viewport and makes
        # Qt lay out every row a second time: at 100,000 rows that doubled the layout
        # before the first paint. It is always there instead (disabled when all fit).
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.doubleClicked.connect(lambda idx: self.preview_requested.emit(idx.data(ID_ROLE)))

    def set_cell(self, size: QSize) -> None:
        """Cells of `size` (the delegate's hint). Qt's layout asks the model for an index
        of every row twice, once to see whether it is hidden and once for its size, each a
        call into Python's rowCount; with a grid it skips the second. With a grid Qt adds no
        spacing of its own, so the grid cell carries it: cells sit as far apart as without
        a grid (the first one at the corner instead of one spacing in)."""
        self.setGridSize(QSize(size.width() + 2 * SPACING, size.height() + 2 * SPACING))

    def paintEvent(self, e) -> None:  # noqa: N802 - Qt name
        super().paintEvent(e)
        self.painted.emit()

    def dataChanged(self, top_left: QModelIndex, bottom_right: QModelIndex, roles=()) -> None:  # noqa: N802
        """Repaint changed cells without a relayout.

        QListView in list mode answers every dataChanged with a full item relayout, in
        case a size changed; with 100,000 items that is ~150 ms for each thumbnail that
        arrives. Cells here all have one size, so a change can never move anything and
        repainting the changed cells is enough."""
        if top_left == bottom_right:
            self.update(top_left)
        else:
            self.viewport().update()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        key, mods = e.key(), e.modifiers()
        plain = not (mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                             | Qt.KeyboardModifier.MetaModifier))
        if plain and Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            self.categorise.emit(key - Qt.Key.Key_0)
        elif plain and key == Qt.Key.Key_T:
            self.tag_requested.emit()
        elif plain and key == Qt.Key.Key_B:
            self.bookmark_requested.emit()
        elif plain and key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            idx = self.currentIndex()
            if idx.isValid():
                self.preview_requested.emit(idx.data(ID_ROLE))
        else:
            super().keyPressEvent(e)


class GalleryView(QWidget):
    filter_changed = pyqtSignal()

    def __init__(self, model: ItemListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.filters = FilterPanel()
        self.list = GalleryList()
        self.delegate = ThumbDelegate(model.thumbs.size, self.list)
        self.list.setItemDelegate(self.delegate)
        self.list.set_cell(self.delegate.cell_size())
        self.list.setModel(model)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.filters)
        lay.addWidget(self.list, 1)
        self.filters.changed.connect(self.filter_changed)
        self.filters.thumb_size_changed.connect(self.set_thumb_size)

    def set_thumb_size(self, size: int) -> None:
        self.model.thumbs.set_size(size)
        self.delegate.size = size
        self.list.set_cell(self.delegate.cell_size())
        # Uniform sizes are cached by the view: lay the cells out again at the new size.
        self.list.scheduleDelayedItemsLayout()
        self.list.viewport().update()

    def current_filter(self) -> tuple[ItemFilter, str, bool]:
        sort, desc = self.filters.sort_key()
        return self.filters.filter(), sort, desc

    def selected_ids(self) -> list[int]:
        rows = sorted(i.row() for i in self.list.selectionModel().selectedIndexes())
        if not rows and self.list.currentIndex().isValid():
            rows = [self.list.currentIndex().row()]
        return [self.model.id_at(r) for r in rows]

    def current_id(self) -> int | None:
        idx = self.list.currentIndex()
        return idx.data(ID_ROLE) if idx.isValid() else None

    def select_ids(self, ids: list[int]) -> None:
        sm = self.list.selectionModel()
        sm.clearSelection()
        first: QModelIndex | None = None
        for i in ids:
            idx = self.model.index_of(i)
            if idx.isValid():
                sm.select(idx, QItemSelectionModel.SelectionFlag.Select)
                first = first or idx
        if first is not None:
            sm.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
            self.list.scrollTo(first)

    def move_current(self, step: int) -> int | None:
        """Move the current item by `step` (from the item view's arrows); returns the new id."""
        n = self.model.rowCount()
        if not n:
            return None
        cur = self.list.currentIndex()
        row = min(max(0, (cur.row() if cur.isValid() else -1) + step), n - 1)
        idx = self.model.index(row)
        self.list.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.list.scrollTo(idx)
        return idx.data(ID_ROLE)
