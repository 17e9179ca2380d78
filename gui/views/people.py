"""People: named persons and unconfirmed clusters as rows of face thumbnails (largest
first), and the faces of the selected one. Name a cluster, merge (multi-select or drag
one row onto another), split selected faces into a new person, remove a face, and
"find this person". Every edit goes through case.faces on the writer executor."""
from __future__ import annotations

from PyQt6.QtCore import QModelIndex, QRect, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QDropEvent, QFont, QPainter
from PyQt6.QtWidgets import (QAbstractItemView, QHBoxLayout, QInputDialog, QLabel, QListView, QListWidget,
                             QListWidgetItem, QPushButton, QSplitter, QStyle, QStyledItemDelegate,
                             QStyleOptionViewItem, QVBoxLayout, QWidget)

from forensics.case import Case
from gui.models.cards import DATA_ROLE, Card, CardDelegate, CardModel
from gui.models.thumbs import ThumbnailCache
from gui.tasks import TaskError, TaskRunner

GROUP_ROLE = Qt.ItemDataRole.UserRole + 20  # the person/cluster summary dict
FACE = 56
LINK_COLOURS = {"confirmed": "#2e7d32", "suggested": "#f9a825", "cluster": "#1565c0"}


def load_people(case: Case) -> list[dict]:
    """Persons then clusters, each largest first, with face thumbnail paths (background)."""
    groups = case.faces.persons() + case.faces.clusters()
    for g in groups:
        g["thumbs"] = [(fid, _thumb(case, fid)) for fid in g.get("representative_face_ids", [])]
    return groups


def _thumb(case: Case, face_id: int) -> str | None:
    try:
        return str(case.faces.face_thumb_path(face_id))
    except Exception:  # noqa: BLE001 - a face without a thumbnail shows as a grey square
        return None


def load_faces(case: Case, person_id: int) -> list[Card]:
    """A person's photo faces and video tracks (best face) as cards."""
    p = case.faces.person(person_id)
    cards = []
    for ph in p["photos"]:
        cards.append(Card(("face", ph["face_id"]), ph.get("thumb") or _thumb(case, ph["face_id"]),
                          ph["path"].rsplit("/", 1)[-1], ph.get("link") or "",
                          {"face_id": ph["face_id"], "item_id": ph["item_id"]}, LINK_COLOURS.get(ph.get("link"))))
    for v in p["videos"]:
        fid = v["best_face_id"]
        cards.append(Card(("face", fid), _thumb(case, fid), (v["path"] or "").rsplit("/", 1)[-1],
                          f"{v['start']:.1f}–{v['end']:.1f} s · {v.get('link') or ''}",
                          {"face_id": fid, "item_id": v["best_frame_item_id"] or v["video_id"], "track_id": v["id"]},
                          LINK_COLOURS.get(v.get("link"))))
    return cards


class GroupDelegate(QStyledItemDelegate):
    """A person or cluster as one row: name and counts, then a row of face thumbnails."""

    def __init__(self, thumbs: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs
        self.bold = QFont()
        self.bold.setBold(True)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(420, FACE + 12)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        g = index.data(GROUP_ROLE)
        r = option.rect
        p.save()
        if option.state & QStyle.StateFlag.State_Selected:
            p.fillRect(r, option.palette.highlight())
            p.setPen(option.palette.highlightedText().color())
        else:
            p.setPen(option.palette.text().color())
        name = g["name"] or (f"Cluster {g['id']}" if g["kind"] == "cluster" else f"Person {g['id']}")
        p.setFont(self.bold)
        p.drawText(QRect(r.x() + 6, r.y() + 6, 150, 20), Qt.AlignmentFlag.AlignLeft, name)
        p.setFont(QFont())
        p.drawText(QRect(r.x() + 6, r.y() + 26, 150, 36), Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
                   f"{g['kind']} · {g['faces']} faces\n{g['items']} items")
        x = r.x() + 160
        for fid, path in g.get("thumbs", []):
            img = self.thumbs.get(("face", fid), path)
            cell = QRect(x, r.y() + 6, FACE, FACE)
            if img is not None:
                p.drawImage(cell.x() + (FACE - img.width()) // 2, cell.y() + (FACE - img.height()) // 2, img)
            else:
                p.fillRect(cell, QColor(80, 80, 80, 60))
            x += FACE + 4
        p.restore()


class GroupList(QListWidget):
    """Persons and clusters; dropping selected rows onto another row merges them into it."""

    merge_requested = pyqtSignal(int, list)  # target id, source ids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)

    def dropEvent(self, e: QDropEvent) -> None:
        target = self.itemAt(e.position().toPoint())
        sources = [i.data(GROUP_ROLE)["id"] for i in self.selectedItems()]
        e.ignore()  # never let Qt move the rows itself; the case decides
        if target is None:
            return
        tid = target.data(GROUP_ROLE)["id"]
        sources = [s for s in sources if s != tid]
        if sources:
            self.merge_requested.emit(tid, sources)


class PeopleView(QWidget):
    find_person = pyqtSignal(int)  # face id
    open_item = pyqtSignal(int)
    changed = pyqtSignal()  # after an edit has been applied and the lists reloaded
    refreshed = pyqtSignal()

    def __init__(self, case: Case, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.tasks = tasks
        self.thumbs = ThumbnailCache(FACE, budget_bytes=32 << 20, parent=self)
        self.groups = GroupList()
        self.groups.setItemDelegate(GroupDelegate(self.thumbs, self.groups))
        self.thumbs.loaded.connect(lambda *_: self.groups.viewport().update())
        self.groups.currentItemChanged.connect(lambda *_: self._load_faces())
        self.groups.merge_requested.connect(self.merge)
        self.face_thumbs = ThumbnailCache(96, budget_bytes=32 << 20, parent=self)
        self.faces_model = CardModel(self.face_thumbs, self)
        self.faces = QListView()
        self.faces.setViewMode(QListView.ViewMode.IconMode)
        self.faces.setResizeMode(QListView.ResizeMode.Adjust)
        self.faces.setMovement(QListView.Movement.Static)
        self.faces.setUniformItemSizes(True)
        self.faces.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.faces.setItemDelegate(CardDelegate(96, self.faces))
        self.faces.setModel(self.faces_model)
        self.faces.doubleClicked.connect(lambda i: self.open_item.emit(i.data(DATA_ROLE).data["item_id"]))
        self.status = QLabel("")
        buttons = QHBoxLayout()
        self.buttons = {}
        for key, text, slot in (("name", "Name…", self.name_selected), ("merge", "Merge selected", self.merge_selected),
                                ("split", "Split faces into new person", self.split_selected),
                                ("remove", "Remove face", self.remove_selected),
                                ("find", "Find this person", self.find_selected),
                                ("cluster", "Re-cluster", self.recluster)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b)
            self.buttons[key] = b
        buttons.addStretch(1)
        split = QSplitter()
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Persons and clusters (largest first; drag one onto another to merge)"))
        ll.addWidget(self.groups)
        # pairs the clusterer would not merge alone: their faces score as one person, but
        # where relatives (parents, children, siblings) also score; the analyst decides
        self.review_title = QLabel("Possible relatives / same person: review (select one to compare, Merge if the same)")
        self.review = QListWidget()
        self.review.setMaximumHeight(140)
        self.review.currentItemChanged.connect(lambda *_: self._select_pair())
        ll.addWidget(self.review_title)
        ll.addWidget(self.review)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.faces_title = QLabel("Faces")
        rl.addWidget(self.faces_title)
        rl.addWidget(self.faces)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([460, 700])
        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)

    # -- loading --------------------------------------------------------------
    def refresh(self) -> None:
        self.tasks.run("Load people", lambda t: (load_people(self.case), self.case.faces.possible_relatives()),
                       writer=False, on_done=lambda r: self._fill(*r), on_error=self._error, owner=self)

    def _fill_review(self, pairs: list[dict]) -> None:
        self.review.clear()
        for p in pairs:
            a = p["name_a"] or f"{p['kind_a']} {p['person_a']}"
            b = p["name_b"] or f"{p['kind_b']} {p['person_b']}"
            it = QListWidgetItem(f"{a}  ↔  {b}: log10 LR {p['log10_lr']:+.1f} ({p['verbal']})")
            it.setData(GROUP_ROLE, p)
            self.review.addItem(it)
        self.review_title.setVisible(bool(pairs))
        self.review.setVisible(bool(pairs))

    def _select_pair(self) -> None:
        it = self.review.currentItem()
        if it is None:
            return
        pair = it.data(GROUP_ROLE)
        self.groups.clearSelection()
        for row in range(self.groups.count()):
            g = self.groups.item(row).data(GROUP_ROLE)
            if g["id"] in (pair["person_a"], pair["person_b"]):
                self.groups.item(row).setSelected(True)

    def _fill(self, groups: list[dict], pairs: list[dict] | None = None) -> None:
        self._fill_review(pairs or [])
        current = self.current_group_id()
        self.groups.clear()
        for g in groups:
            it = QListWidgetItem()
            it.setData(GROUP_ROLE, g)
            it.setData(Qt.ItemDataRole.DisplayRole, g["name"] or "")
            self.groups.addItem(it)
        n_p = sum(g["kind"] == "person" for g in groups)
        self.status.setText(f"{n_p} persons, {len(groups) - n_p} clusters" if groups else
                            "No faces grouped yet: ingest with face detection, then Re-cluster.")
        row = next((n for n, g in enumerate(groups) if g["id"] == current), 0 if groups else -1)
        self.groups.setCurrentRow(row)
        if not groups:
            self.faces_model.set_cards([])
        self.refreshed.emit()

    def current_group_id(self) -> int | None:
        it = self.groups.currentItem()
        return it.data(GROUP_ROLE)["id"] if it is not None else None

    def selected_group_ids(self) -> list[int]:
        return [i.data(GROUP_ROLE)["id"] for i in self.groups.selectedItems()]

    def selected_face_ids(self) -> list[int]:
        return [i.data(DATA_ROLE).data["face_id"] for i in self.faces.selectionModel().selectedIndexes()]

    def _load_faces(self) -> None:
        pid = self.current_group_id()
        if pid is None:
            return
        it = self.groups.currentItem().data(GROUP_ROLE)
        self.faces_title.setText(f"Faces of {it['name'] or ('cluster ' + str(pid))} (green: confirmed, "
                                 "yellow: suggested, blue: cluster)")
        self.tasks.run("Load faces", lambda t: load_faces(self.case, pid), writer=False,
                       on_done=lambda cards: pid == self.current_group_id() and self.faces_model.set_cards(cards),
                       on_error=self._error, owner=self)

    # -- edits ----------------------------------------------------------------
    def _edit(self, label: str, fn) -> None:
        self.tasks.run(label, lambda t: fn(self.case.faces), writer=True,
                       on_done=self._edited, on_error=self._error, owner=self)

    def _edited(self, result) -> None:
        self.refresh()
        self.changed.emit()

    def name_selected(self, name: str | None = None) -> None:
        pid = self.current_group_id()
        if pid is None:
            return
        if not name:
            name, ok = QInputDialog.getText(self, "Name person", "Name:")
            if not ok or not name.strip():
                return
        self._edit("Name person", lambda f: f.name_person(pid, name.strip()))

    def merge_selected(self) -> None:
        ids = self.selected_group_ids()
        if len(ids) < 2:
            self.status.setText("Select two or more persons or clusters to merge (Ctrl+click).")
            return
        cur = self.current_group_id()
        target = cur if cur in ids else ids[0]
        self.merge(target, [i for i in ids if i != target])

    def merge(self, target: int, sources: list[int]) -> None:
        self._edit("Merge persons", lambda f: f.merge(target, sources))

    def split_selected(self, name: str | None = None) -> None:
        faces = self.selected_face_ids()
        if not faces:
            self.status.setText("Select faces on the right to split them into a new person.")
            return
        self._edit("Split person", lambda f: f.split(faces, name))

    def remove_selected(self) -> None:
        faces = self.selected_face_ids()
        if not faces:
            self.status.setText("Select a face on the right to remove it from this person.")
            return

        def fn(f):
            return [f.remove_face(fid) for fid in faces]
        self._edit("Remove face", fn)

    def find_selected(self) -> None:
        faces = self.selected_face_ids()
        if faces:
            self.find_person.emit(faces[0])
            return
        it = self.groups.currentItem()
        reps = it.data(GROUP_ROLE).get("representative_face_ids") if it else None
        if reps:
            self.find_person.emit(reps[0])

    def recluster(self) -> None:
        self._edit("Cluster faces", lambda f: f.cluster())

    def _error(self, err: TaskError) -> None:
        self.status.setText(f"⚠ {err.message}")
        from gui.app import error_box

        error_box(self, "People", err)
