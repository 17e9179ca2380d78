"""The gallery model: a list of item ids, rows fetched lazily in batches and cached.

The model holds only ids (100,000 ints is nothing); a cell asks for its row, and a miss
fetches the whole aligned block around it with one query (forensics.browse.item_rows).
Edits refresh exactly the rows they touched with dataChanged, never a reset.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from PyQt6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt

from forensics import browse
from forensics.case import Case
from gui.models.thumbs import ThumbnailCache

ID_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # the light row dict from forensics.browse
BATCH = 256
MAX_ROWS = 20_000


class ItemListModel(QAbstractListModel):
    def __init__(self, case: Case, thumbs: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.thumbs = thumbs
        self._ids: list[int] = []
        self._pos: dict[int, int] | None = None
        self._rows: OrderedDict[int, dict] = OrderedDict()
        self.complete = True  # False while only the first page of a list is shown
        self.fetches = 0  # batches queried (for tests and the benchmark)
        thumbs.loaded.connect(self._thumb_loaded)

    # -- contents ---------------------------------------------------------------
    def set_ids(self, ids: list[int], complete: bool = True) -> None:
        """Show a new list (a new filter or sort): the one place the model resets.
        `complete=False`: only its first page, which `complete_ids` extends."""
        self.beginResetModel()
        self._ids = list(ids)
        self._pos = None
        self._rows.clear()
        self.complete = complete
        self.endResetModel()

    def complete_ids(self, ids: list[int]) -> bool:
        """The whole list whose first page is shown: its remaining rows are appended (the
        view keeps its scroll position and selection). False, changing nothing, when `ids`
        does not start with the page shown (the items changed in between)."""
        n = len(self._ids)
        if self.complete or len(ids) < n or ids[:n] != self._ids:
            return False
        self.complete = True
        if len(ids) > n:
            self.beginInsertRows(QModelIndex(), n, len(ids) - 1)
            self._ids.extend(ids[n:])
            self._pos = None
            self.endInsertRows()
        return True

    def append_ids(self, ids: Iterable[int]) -> None:
        """Items committed by a running ingest appear at the end of the list."""
        new = [i for i in ids if i not in self._positions()]
        if not new:
            return
        first = len(self._ids)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._ids.extend(new)
        pos = self._positions()
        for n, i in enumerate(new):
            pos[i] = first + n
        self.endInsertRows()

    def refresh(self, ids: Iterable[int]) -> None:
        """Re-read the given items (after categorising, tagging, undo ...)."""
        pos = self._positions()
        rows = sorted(pos[i] for i in ids if i in pos)
        for i in ids:
            self._rows.pop(i, None)
        # One dataChanged per contiguous run keeps repaints local.
        start = prev = None
        for r in rows + [None]:
            if start is not None and (r is None or r != prev + 1):
                self.dataChanged.emit(self.index(start), self.index(prev))
                start = None
            if r is not None and start is None:
                start = r
            prev = r

    def ids(self) -> list[int]:
        return list(self._ids)

    def id_at(self, row: int) -> int:
        return self._ids[row]

    def row_of(self, item_id: int) -> int | None:
        return self._positions().get(item_id)

    def index_of(self, item_id: int) -> QModelIndex:
        r = self.row_of(item_id)
        return self.index(r) if r is not None else QModelIndex()

    def row_data(self, row: int) -> dict | None:
        item_id = self._ids[row]
        d = self._rows.get(item_id)
        if d is None:
            self._fetch(row)
            d = self._rows.get(item_id)
        else:
            self._rows.move_to_end(item_id)
        return d

    def _positions(self) -> dict[int, int]:
        if self._pos is None:
            self._pos = {i: n for n, i in enumerate(self._ids)}
        return self._pos

    def _fetch(self, row: int) -> None:
        start = row - row % BATCH
        block = [i for i in self._ids[start:start + BATCH] if i not in self._rows]
        self.fetches += 1
        for d in browse.item_rows(self.case.ctx, block):
            # Tuples, not lists: a dict holding only atomic values and tuples of them is
            # untracked by Python's cycle collector, so 20,000 cached rows do not make
            # every full collection (a GUI-thread pause while scrolling) slower.
            d["flags"], d["tags"] = tuple(d["flags"]), tuple(d["tags"])
            self._rows[d["id"]] = d
        while len(self._rows) > MAX_ROWS:
            self._rows.popitem(last=False)

    def _thumb_loaded(self, key: object) -> None:
        if isinstance(key, int):
            r = self._positions().get(key)
            if r is not None:
                idx = self.index(r)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    # -- Qt model interface ------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = index.row()
        if role == ID_ROLE:
            return self._ids[r]
        d = self.row_data(r)
        if d is None:
            return None
        if role == ROW_ROLE:
            return d
        if role == Qt.ItemDataRole.DisplayRole:
            return d["name"]
        if role == Qt.ItemDataRole.DecorationRole:
            thumb = d.get("thumb")
            return self.thumbs.get(d["id"], self.case.thumbs_dir / thumb if thumb else None)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{d['relpath']}\n{d['kind']} · {d['size'] or 0:,} bytes"
        return None
