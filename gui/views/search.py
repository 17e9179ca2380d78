"""Search panels: "find this person" (faces) and "find visual copies" (images).

Both take a query from the case (a face, an item) or a photo dropped from outside, run
the search in the background, and show ranked thumbnails. The face panel fetches every
candidate up to the loosest threshold once (audited as candidates) and narrows the result
(`within_threshold`), so its threshold slider updates live; once the slider rests it
audits, as the search, the threshold the examiner settled on and the number on screen.
Every card states its calibrated likelihood ratio; the order (strongest evidence by
default, distance, file) is the core's `MATCH_ORDERS`.
"""
from __future__ import annotations

import os

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QDragEnterEvent, QDropEvent, QPixmap
from PyQt6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QListView, QPushButton, QSlider,
                             QVBoxLayout,
                             QWidget)

from forensics.case import Case
from forensics.faces.service import MATCH_ORDERS, with_evidence, within_threshold
from gui.models.cards import DATA_ROLE, Card, CardDelegate, CardModel
from gui.models.thumbs import ThumbnailCache, load_scaled
from gui.tasks import TaskError, TaskRunner

FACE_MAX_THRESHOLD = 0.8  # the loosest threshold the slider offers (dlib's usual is 0.6)
SETTLE_MS = 800  # the slider has rested this long: what is on screen is what the examiner chose
RESULT_SIZE = 128


def _fname(path: str | None) -> str:
    return (path or "").rsplit("/", 1)[-1]


def face_cards(case: Case, result: dict) -> list[Card]:
    """Face search matches as cards: photos, and video tracks with their time span."""
    cards = []
    for n, m in enumerate(result["matches"]):
        try:
            thumb = str(case.faces.face_thumb_path(m["face_id"]))
        except Exception:  # noqa: BLE001
            thumb = None
        who = f" · {m['person_name']}" if m.get("person_name") else ""
        lead = "LEAD · " if m.get("lead") else ""
        evidence = f"{lead}LR 10^{m['log10_lr']:+.1f} · d={m['distance']:.3f}"
        if m["kind"] == "video":
            best = f" · best {m['frame_time']:.1f} s" if m.get("frame_time") is not None else ""
            detail = f"{evidence} · ▶ {m['start']:.1f}–{m['end']:.1f} s{best}"
            target = m.get("frame_item_id") or m["item_id"]
        else:
            detail = f"{evidence}{who}"
            target = m["item_id"]
        accent = "#ef6c00" if m.get("lead") else ("#1565c0" if m["kind"] == "video" else None)
        cards.append(Card(("face", m["face_id"]), thumb, f"{n + 1}. {_fname(m['path'])}", detail,
                          dict(m, open_item=target), accent))
    return cards


class DropList(QListView):
    """A results grid that also accepts an image file dropped from outside."""

    file_dropped = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dragMoveEvent(self, e) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        for u in e.mimeData().urls():
            if u.isLocalFile() and os.path.isfile(u.toLocalFile()):
                self.file_dropped.emit(u.toLocalFile())
                e.acceptProposedAction()
                return


class _SearchPanel(QWidget):
    open_item = pyqtSignal(int)
    results_shown = pyqtSignal(int)  # number of results on screen

    def __init__(self, case: Case, tasks: TaskRunner, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.tasks = tasks
        self.result: dict | None = None
        self._serial = 0
        self.thumbs = ThumbnailCache(RESULT_SIZE, budget_bytes=48 << 20, parent=self)
        self.model = CardModel(self.thumbs, self)
        self.results = DropList()
        self.results.setItemDelegate(CardDelegate(RESULT_SIZE, self.results))
        self.results.setModel(self.model)
        self.results.file_dropped.connect(self.search_file)
        self.results.doubleClicked.connect(self._open)
        self.query_image = QLabel(hint)
        self.query_image.setFixedSize(180, 180)
        self.query_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.query_image.setWordWrap(True)
        self.query_image.setStyleSheet("border: 2px dashed #888; color: #666")
        self.query_text = QLabel("")
        self.query_text.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider_label = QLabel("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(self.query_image)
        side.addWidget(self.query_text)
        side.addWidget(self.slider_label)
        side.addWidget(self.slider)
        side.addWidget(self.status)
        side.addStretch(1)
        lay = QHBoxLayout(self)
        lay.addLayout(side)
        lay.addWidget(self.results, 1)
        self.setAcceptDrops(True)

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        for u in e.mimeData().urls():
            if u.isLocalFile() and os.path.isfile(u.toLocalFile()):
                self.search_file(u.toLocalFile())
                return

    def _open(self, index) -> None:
        self.open_item.emit(index.data(DATA_ROLE).data["open_item"])

    def _set_query_image(self, path: str | None) -> None:
        img = load_scaled(path, 176) if path and os.path.exists(path) else None
        if img is None:
            self.query_image.setText("(no preview)")
        else:
            self.query_image.setPixmap(QPixmap.fromImage(img))

    def _run(self, label: str, fn) -> None:
        self._serial += 1
        serial = self._serial
        self.status.setText("Searching…")
        self.tasks.run(label, lambda t: fn(), writer=False,
                       on_done=lambda r: serial == self._serial and self._got(r),
                       on_error=lambda e: serial == self._serial and self._failed(e), owner=self)

    def _failed(self, err: TaskError) -> None:
        self.result = None
        self.model.set_cards([])
        self.status.setText(f"⚠ {err.message}")
        self.results_shown.emit(0)

    def _got(self, result: dict) -> None:
        raise NotImplementedError

    def search_file(self, path: str) -> None:
        raise NotImplementedError


class FaceSearchView(_SearchPanel):
    """Ranked appearances of one person: photos and video tracks with time spans."""

    def __init__(self, case: Case, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(case, tasks, "Drop a photo of a face here, or choose “Find this person” on a face", parent)
        self.slider.setRange(30, int(FACE_MAX_THRESHOLD * 100))
        self.slider.setValue(60)
        self.settle = QTimer(self)
        self.settle.setSingleShot(True)
        self.settle.setInterval(SETTLE_MS)
        self.settle.timeout.connect(self._record_settled)
        self._recorded: tuple | None = None
        self.slider.valueChanged.connect(self._apply_threshold)
        self.play_button = QPushButton("▶ Play video hit")
        self.play_button.setToolTip("Play the selected video hit from a little before it starts, face box drawn")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play_selected)
        self.results.selectionModel().selectionChanged.connect(self._selection_changed)
        self.player = None
        self.slider.valueChanged.connect(lambda *_: self.result is not None and self.settle.start())
        self.cards: list[Card] = []
        self.sort = QComboBox()
        self.sort.addItems(list(MATCH_ORDERS))
        self.sort.currentIndexChanged.connect(self._apply_threshold)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b71c1c")
        side = self.layout().itemAt(0).layout()
        side.insertWidget(4, self.sort)
        side.insertWidget(5, self.warning)
        side.insertWidget(6, self.play_button)
        self._apply_threshold()

    def set_sort(self, name: str) -> None:
        self.sort.setCurrentText(name)

    def _selected_video(self) -> dict | None:
        rows = self.results.selectionModel().selectedIndexes()
        data = rows[0].data(DATA_ROLE).data if rows else None
        return data if data and data.get("kind") == "video" else None

    def _selection_changed(self, *_args) -> None:
        self.play_button.setEnabled(self._selected_video() is not None)

    def play_selected(self) -> None:
        """Open the player on the selected video hit."""
        from gui.widgets.playback import PlaybackDialog

        hit = self._selected_video()
        if hit is None:
            return
        self.player = PlaybackDialog(self.case, self.tasks, hit["track_id"], parent=self)
        self.player.show()

    def threshold(self) -> float:
        return self.slider.value() / 100

    def set_threshold(self, value: float) -> None:
        self.slider.setValue(round(value * 100))

    def search_face(self, face_id: int) -> None:
        try:
            self._set_query_image(str(self.case.faces.face_thumb_path(face_id)))
        except Exception:  # noqa: BLE001
            self._set_query_image(None)
        self.query_text.setText(f"Query: face {face_id}")
        self._flush_settled()
        self._run("Face search", lambda: self.case.faces.search(
            face_id=face_id, threshold=FACE_MAX_THRESHOLD, action="faces.search.candidates"))

    def search_file(self, path: str) -> None:
        self._set_query_image(path)
        self.query_text.setText(f"Query photo: {_fname(path)}")
        self._flush_settled()
        self._run("Face search", lambda: self.case.faces.search(
            image_path=path, threshold=FACE_MAX_THRESHOLD, action="faces.search.candidates"))

    def _got(self, result: dict) -> None:
        self.result = result
        self._recorded = None
        self.cards = face_cards(self.case, result)
        check = self.case.faces.last_calibration_check()
        warnings = (check or {}).get("warnings") or []
        self.warning.setText("⚠ This case departs from the calibration: " + " ".join(warnings) if warnings else "")
        self._apply_threshold()
        self.settle.start()

    def _flush_settled(self, sync: bool = False) -> None:
        """A new query or closing the case: record the view the examiner had, if pending."""
        if self.settle.isActive():
            self.settle.stop()
            self._record_settled(sync)

    def flush_settled(self) -> None:
        """Record a pending settled view now, on this thread (the case is about to close)."""
        self._flush_settled(sync=True)

    def _record_settled(self, sync: bool = False) -> None:
        if self.result is None:
            return
        t = self.threshold()
        shown = within_threshold(self.result["matches"], t)
        photos = sum(m["kind"] == "image" for m in shown)
        key = (id(self.result), t)
        if key == self._recorded:
            return
        self._recorded = key
        query = dict(self.result["query"])

        def record(task=None) -> None:
            self.case.faces.record_view(query, t, len(shown), photos, len(shown) - photos)

        if sync:
            record()
        else:
            self.tasks.run("Record face search", record, writer=True)

    def _apply_threshold(self) -> None:
        t = self.threshold()
        self.slider_label.setText(f"Threshold (face distance) ≤ {t:.2f}  — lower is stricter")
        if self.result is None:
            return
        by_face = {c.data["face_id"]: c for c in self.cards}
        kept = with_evidence(within_threshold(self.result["matches"], t), float("-inf"), self.sort.currentText())
        shown = [by_face[m["face_id"]] for m in kept]
        self.model.set_cards(shown)
        photos = sum(c.data["kind"] == "image" for c in shown)
        leads = sum(bool(c.data.get("lead")) for c in shown)
        cal = self.result.get("calibration") or {}
        self.status.setText(f"{len(shown)} matches ({photos} photos, {len(shown) - photos} video tracks, {leads} leads"
                            f" from faces too small to rely on) within {t:.2f}, of {self.result['total']} within"
                            f" {FACE_MAX_THRESHOLD}; index: {self.result.get('index', '')}")
        self.status.setToolTip(f"model {self.result.get('model', '')}\ncalibration {cal.get('version', '')};"
                               f" verbal scale: {cal.get('scale', '')}")
        self.results_shown.emit(len(shown))


class SimilarView(_SearchPanel):
    """Visual copies (pHash/dHash, any orientation) of an item or a dropped image."""

    def __init__(self, case: Case, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(case, tasks, "Drop an image here, or choose “Find visual copies” on an item", parent)
        self.slider.setRange(0, 32)
        self.slider.setValue(12)
        self._query: tuple[str, object] | None = None
        self.slider.valueChanged.connect(self._label)
        self.slider.sliderReleased.connect(self._rerun)
        self.slider.valueChanged.connect(lambda *_: not self.slider.isSliderDown() and self._rerun())
        self._label()

    def _label(self) -> None:
        self.slider_label.setText(f"pHash distance ≤ {self.slider.value()} (dHash scaled alike)")

    def search_item(self, item_id: int) -> None:
        self._query = ("item", item_id)
        tp = self.case.thumb_path(item_id)
        self._set_query_image(str(tp) if tp else None)
        self.query_text.setText(f"Query: item {item_id}")
        self._rerun()

    def search_file(self, path: str) -> None:
        self._query = ("file", path)
        self._set_query_image(path)
        self.query_text.setText(f"Query image: {_fname(path)}")
        self._rerun()

    def _rerun(self) -> None:
        if self._query is None:
            return
        kind, q = self._query
        t = self.slider.value()
        if kind == "item":
            self._run("Similar images", lambda: self.case.copies.similar(item_id=q, threshold=t, top=500))
        else:
            self._run("Similar images", lambda: self.case.copies.similar(image_path=q, threshold=t, top=500))

    def _got(self, result: dict) -> None:
        self.result = result
        cards = []
        for n, m in enumerate(result["matches"]):
            tp = self.case.thumb_path(m["item_id"])
            when = f" · {m['frame_time']:.1f} s" if m.get("frame_time") is not None else ""
            cards.append(Card(("item", m["item_id"]), str(tp) if tp else None, f"{n + 1}. {_fname(m['path'])}",
                              f"d={m['distance']} ({m['variant']}){' · identical' if m.get('identical') else ''}{when}",
                              dict(m, open_item=m["item_id"]), "#2e7d32" if m.get("identical") else None))
        self.model.set_cards(cards)
        note = f" — {result['note']}" if result.get("note") else ""
        self.status.setText(f"{len(cards)} of {result['total']} copies among {result['searched']:,} items "
                            f"in {result['seconds']:.3f} s{note}")
        self.results_shown.emit(len(cards))
