"""The main window: menus, the tabs (gallery, item, people, face search, similar images,
audit log) and the gallery queries. The work behind the menus lives in controllers
(gui/controllers): the case (open, create, recent), ingest, edits with undo, and analysis
jobs; the window assembles them and routes their signals to its views."""
from __future__ import annotations

import gc
import os

from PyQt6.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PyQt6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QInputDialog, QLabel, QLineEdit,
                             QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget)

from forensics.case import Case
from forensics.model import CaseError
from gui.controllers.analysis import AnalysisController
from gui.controllers.case import CaseController
from gui.controllers.edit import EditController
from gui.controllers.gallery import GalleryController
from gui.controllers.hashsets import HashSetController
from gui.controllers.ingest import IngestController
from gui.controllers.timeline import TimelineController
from gui.dialogs.new_case import NewCaseDialog
from gui.models.items import ItemListModel
from gui.models.thumbs import ThumbnailCache
from gui.tasks import TaskError, TaskRunner
from gui.views.gallery import GalleryView
from gui.widgets.ingest_panel import IngestPanel

APP_NAME = "Forensics workbench"


class MainWindow(QMainWindow):
    case_opened = pyqtSignal()
    gallery_refreshed = pyqtSignal()
    edit_done = pyqtSignal()
    ingest_finished = pyqtSignal(object)  # IngestSummary, None (cancelled) or TaskError

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("forensics", "workbench")
        self.case: Case | None = None
        self.tasks = TaskRunner(self)
        self.thumbs = ThumbnailCache(160, parent=self)
        self.model: ItemListModel | None = None
        self.gallery: GalleryView | None = None
        self.cases = CaseController(self.settings, self)
        self.ingest_controller = IngestController(self.tasks, self)
        self.edits = EditController(self.tasks, self)
        self.analysis = AnalysisController(self.tasks, self)
        self.queries = GalleryController(self.tasks, self)
        self.hashsets = HashSetController(self.tasks, self)
        self.timeline = TimelineController(self.tasks, self)
        # Connected once: each slot ignores a signal that nothing waits for (a first page's
        # holds, the open case's first filter choices).
        for signal in (self.timeline.points_ready, self.timeline.failed):
            signal.connect(self._timeline_loaded)
            signal.connect(self._first_facets)
        self.timeline_dock = None
        self._facets_due = False  # the first filter choices of the open case are not counted yet
        self._holds: set[str] = set()  # what the whole list waits for after a first page ("paint", "timeline")
        self._page_token = 0
        self._waiting: tuple | None = None  # the whole list, read while a first page is shown
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.tabs = QTabWidget()
        self.setCentralWidget(self._welcome())
        self.count_label = QLabel("")
        self.selection_label = QLabel("")
        self.ingest_panel = IngestPanel()
        self.ingest_panel.cancel_requested.connect(self.cancel_ingest)
        self._wire_controllers()
        # Permanent widgets: temporary status messages must not hide the counts.
        self.statusBar().addPermanentWidget(self.ingest_panel)
        self.statusBar().addPermanentWidget(self.selection_label)
        self.statusBar().addPermanentWidget(self.count_label)
        self.source_alert_label = QLabel("")
        self.source_alert_label.setStyleSheet("background: #f8d7da; color: #721c24; font-weight: bold")
        self.source_alert_label.setVisible(False)
        self.statusBar().addWidget(self.source_alert_label)
        self._build_menus()
        self._update_title()

    def _wire_controllers(self) -> None:
        ic = self.ingest_controller
        ic.started.connect(self.ingest_panel.start)
        ic.progress.connect(self.ingest_panel.update_progress)
        ic.committed.connect(self._apply_commits)
        ic.finished.connect(self._ingest_ended)
        self.edits.edited.connect(self._after_edit)
        self.edits.undo_changed.connect(self._undo_changed)
        self.edits.failed.connect(self._task_error)
        self.analysis.done.connect(self._analysis_done)
        self.analysis.failed.connect(self._task_error)
        self.queries.page_ready.connect(self._show_page)
        self.queries.ids_ready.connect(self._set_ids)
        self.queries.appended.connect(lambda ids: self.model is not None and self.model.append_ids(ids))
        self.queries.facets_ready.connect(lambda f: self.gallery is not None and self.gallery.filters.set_facets(f))
        self.queries.failed.connect(self._task_error)
        self.timeline.failed.connect(self._task_error)
        self.hashsets.changed.connect(self._hashsets_changed)
        self.hashsets.failed.connect(self._task_error)

    def _controllers(self) -> tuple:
        return self.ingest_controller, self.edits, self.analysis, self.queries, self.hashsets, self.timeline

    @property
    def ingest_task(self):
        """The running (or last) ingest task."""
        return self.ingest_controller.task

    @property
    def undo_stack(self) -> list[tuple[str, dict]]:
        return self.edits.undo_stack

    # -- layout -------------------------------------------------------------------
    def _welcome(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        label = QLabel("<h2>No case open</h2><p>Case → New case… or Case → Open case…</p>")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(label)
        return w

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&Case")
        m.addAction("&New case…", QKeySequence.StandardKey.New, self.new_case)
        m.addAction("&Open case…", QKeySequence.StandardKey.Open, self.open_case_dialog)
        self.recent_menu = m.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        self.case_actions: list[QAction] = []
        for text, slot, key in (("Add evidence &folder…", self.add_folder_dialog, "Ctrl+I"),
                                ("Add evidence &files…", self.add_files_dialog, None),
                                ("Add &disk image (E01, dd, split)…", self.add_image_dialog, None),
                                ("&Export report…", self.export_report, "Ctrl+E"),
                                ("&Hash sets…", self.show_hash_sets, None),
                                ("&Import hash set…", self.import_hash_set, None),
                                ("Export positions as &KML…", lambda: self.map_view.export_kml(), None),
                                ("S&witch examiner…", self.switch_examiner, None)):
            a = m.addAction(text, slot)
            if key:
                a.setShortcut(QKeySequence(key))
            self.case_actions.append(a)
        m.addSeparator()
        m.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        e = mb.addMenu("&Edit")
        self.undo_action = e.addAction("&Undo", QKeySequence.StandardKey.Undo, self.undo)
        self.undo_action.setEnabled(False)
        e.addSeparator()
        self.whole_group_action = e.addAction("Categorise whole copy &group")
        self.whole_group_action.setCheckable(True)
        e.addAction("Add &tag to selection…", self.add_tag)
        e.addAction("Toggle &bookmark", self.toggle_bookmark)
        cat_menu = e.addMenu("Set &category")
        for n in range(10):
            cat_menu.addAction(f"{n}", lambda n=n: self.categorise(n))
        a = mb.addMenu("&Analyse")
        for text, slot in (("Find visual copies of current item", self.find_similar_current),
                           ("Group copies (binary and visual)", self.group_copies),
                           ("Cluster faces into people", self.cluster_faces)):
            self.case_actions.append(a.addAction(text, slot))
        for act in self.case_actions:
            act.setEnabled(False)

    def _update_title(self) -> None:
        if self.case is None:
            self.setWindowTitle(APP_NAME)
            return
        info = self.case.info
        self.setWindowTitle(f"{info['name']} [{info['number']}] · Authority: {info['authority']} · "
                            f"Examiner: {self.case.examiner} — {APP_NAME}")

    # -- case handling -------------------------------------------------------------
    def new_case(self) -> None:
        dlg = NewCaseDialog(self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        self.create_case(**dlg.values())

    def create_case(self, path: str, name: str, number: str, examiner: str, authority: str,
                    description: str | None = None) -> Case | None:
        try:
            case = self.cases.create(path, name, number, examiner, authority, description)
        except Exception as exc:
            self.show_error("Cannot create the case", exc)
            return None
        self.set_case(case)
        return case

    def open_case_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open case folder")
        if d:
            self.open_case(d)

    def open_case(self, path: str | os.PathLike, examiner: str | None = None) -> Case | None:
        """Open a case and ask who is acting (unless `examiner` says so)."""
        try:
            case = self.cases.open(path)
        except Exception as exc:
            self.show_error("Cannot open the case", exc)
            return None
        if examiner is None:
            examiner = self.ask_examiner(case)
            if examiner is None:
                case.close()
                return None
        try:
            self._act_as(case, examiner)
        except Exception as exc:
            case.close()
            self.show_error("Cannot open the case", exc)
            return None
        self.set_case(case)
        return case

    def ask_examiner(self, case: Case) -> str | None:
        """The acting examiner's name from the user (None if they cancel)."""
        from forensics.examiners import remembered_examiner
        from gui.dialogs.examiner import ExaminerDialog

        info = case.info
        dlg = ExaminerDialog(f"case {info['number']} ({info['name']})", remembered_examiner() or case.examiner, self)
        return dlg.value() if dlg.exec() == QDialog.DialogCode.Accepted else None

    def _act_as(self, case: Case, examiner: str) -> None:
        from forensics.examiners import remember_examiner

        case.set_examiner(examiner)
        remember_examiner(examiner)  # per OS user: the config folder is the user's

    def switch_examiner(self) -> None:
        if self.case is None:
            return
        name = self.ask_examiner(self.case)
        if name:
            self._act_as(self.case, name)
            self._show_authority()
            self._update_title()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent():
            self.recent_menu.addAction(p, lambda p=p: self.open_case(p))
        if not self.recent():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def recent(self) -> list[str]:
        return self.cases.recent()

    def _show_authority(self) -> None:
        info, case = self.case.info, self.case
        self.authority_label.setText(f"  ⚖ {info['name']} [{info['number']}] · Authority: {info['authority']}"
                                     f" · Acting: {case.examiner}  ")
        self.authority_label.setToolTip(f"Acting examiner: {case.examiner} (Case ▸ Switch examiner… to change)\n"
                                        f"Case created by: {info['examiner']}\nCase folder: {case.path}")

    def set_case(self, case: Case) -> None:
        self.close_case()
        self.case = case
        self.cases.remember(case.path)
        from forensics.examiners import remember_examiner

        remember_examiner(case.examiner)
        for controller in self._controllers():
            controller.set_case(case)
        self.thumbs.clear()
        self.model = ItemListModel(case, self.thumbs, self)
        self.gallery = GalleryView(self.model)
        self.gallery.filter_changed.connect(self.refresh_gallery)
        g = self.gallery.list
        g.categorise.connect(self.categorise)
        g.tag_requested.connect(self.add_tag)
        g.bookmark_requested.connect(self.toggle_bookmark)
        g.preview_requested.connect(self.show_item)
        g.selectionModel().selectionChanged.connect(self._update_selection)
        self.model.modelReset.connect(self._update_counts)
        self.model.rowsInserted.connect(self._update_counts)
        # The id query starts before the other views are built, so the first screenful
        # is not queued behind them (their construction runs while SQLite works).
        self.queries.query(*self.gallery.current_filter())
        self._add_timeline()
        self.timeline_dock.refresh()  # its query runs beside the gallery's (SQLite, no lock held)
        from gui.views.audit_view import AuditView
        from gui.views.item_view import ItemView
        from gui.views.map_view import MapView
        from gui.views.people import PeopleView
        from gui.views.search import FaceSearchView, SimilarView

        self.item_view = ItemView(case, self.tasks)
        self.item_view.step.connect(self._step_item)
        self.item_view.back.connect(lambda: self.show_tab(self.gallery))
        self.item_view.find_person.connect(self.find_person)
        self.item_view.find_similar.connect(self.find_similar)
        self.item_view.edit_requested.connect(lambda kw: self.apply_edit(**kw))
        self.people = PeopleView(case, self.tasks)
        self.people.find_person.connect(self.find_person)
        self.people.open_item.connect(self.show_item)
        self.face_search = FaceSearchView(case, self.tasks)
        self.face_search.open_item.connect(self.show_item)
        self.similar = SimilarView(case, self.tasks)
        self.similar.open_item.connect(self.show_item)
        self.audit = AuditView(case, self.tasks)
        self.map_view = MapView(case, self.tasks, self.settings)
        self.map_view.items_selected.connect(self._map_selected)
        self.map_view.area_changed.connect(self.gallery.filters.set_area)
        self.gallery.filters.area_cleared.connect(self.map_view.clear_area)
        self.map_view.places_updated.connect(self.refresh_facets)
        self.tabs = QTabWidget()
        for w, label in ((self.gallery, "Gallery"), (self.item_view, "Item"), (self.map_view, "Map"), (self.people, "People"),
                         (self.face_search, "Face search"), (self.similar, "Similar images"), (self.audit, "Audit log")):
            self.tabs.addTab(w, label)
        self.tabs.currentChanged.connect(self._tab_changed)
        # The legal basis stays in sight on every tab (window managers may hide the title).
        info = case.info
        self.authority_label = QLabel()
        self.authority_label.setStyleSheet("background: #fff3cd; color: #5c4400; border: 1px solid #e0c36a;"
                                           " border-radius: 3px; font-weight: bold")
        self._show_authority()
        self.tabs.setCornerWidget(self.authority_label, Qt.Corner.TopRightCorner)
        self.setCentralWidget(self.tabs)
        for act in self.case_actions:
            act.setEnabled(True)
        self._update_title()
        self.map_view.set_filter(self.gallery.current_filter()[0])  # the rest of refresh_gallery()
        self._settle_layout()
        self._show_source_alerts()
        # Filter choices are counted once the gallery and then the timeline are up, not
        # competing with them for the cores and the interpreter.
        self._facets_due = True
        self.case_opened.emit()

    def _settle_layout(self) -> None:
        """Give the new views their final sizes now, while the gallery is still empty. Qt
        would show and size them from queued events, after the id list has arrived, and the
        gallery lays out every row again for each new width (three sizes at 100,000 rows)."""
        self.layout().activate()
        for w in (self.tabs, self.timeline_dock):
            w.show()
        self.layout().activate()

    def _add_timeline(self) -> None:
        """The timeline dock under the tabs, following the gallery's filter; it loads when the
        case opens (beside the gallery's id query: both are mostly SQLite, which runs without
        the interpreter lock), after each gallery refresh, and again when items change."""
        from gui.views.timeline_dock import TimelineDock

        self.timeline_dock = TimelineDock(self.timeline, self.gallery.filters, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.timeline_dock)
        dock = self.timeline_dock
        self._timeline_links = [(self.gallery_refreshed, dock.refresh), (self.edit_done, dock.reload),
                                (self.ingest_finished, dock.reload), (self.analysis.done, dock.reload),
                                (self.ingest_controller.committed, dock.reload_soon)]
        for signal, slot in self._timeline_links:
            signal.connect(slot)

    def _first_facets(self, *args) -> None:
        if not self._facets_due:
            return
        self._facets_due = False
        # Everything built so far (Qt wrappers, modules, the id list) lives as long as the
        # case: move it out of the cycle collector's sight, so full collections, which
        # run on the GUI thread while scrolling, stay short.
        gc.freeze()
        self.refresh_facets()

    def close_case(self) -> None:
        if self.case is None:
            return
        if getattr(self, "face_search", None) is not None:
            self.face_search.flush_settled()  # the view the examiner settled on goes on the record
        self.tasks.cancel_all()
        self.tasks.wait()
        self.thumbs.wait()
        self.case.close()
        self.case = None
        self._waiting = None
        self._holds.clear()
        for controller in self._controllers():
            controller.set_case(None)
        self.setCentralWidget(self._welcome())  # deletes the case's views
        if self.timeline_dock is not None:
            for signal, slot in self._timeline_links:
                signal.disconnect(slot)
            self.removeDockWidget(self.timeline_dock)
            self.timeline_dock.deleteLater()
            self.timeline_dock = None
        self.face_search = None
        if self.model is not None:
            self.thumbs.loaded.disconnect(self.model._thumb_loaded)
            self.model.deleteLater()
        self.model = self.gallery = None
        for act in self.case_actions:
            act.setEnabled(False)
        self._update_title()

    def closeEvent(self, e) -> None:
        if self.ingest_controller.running:
            if QMessageBox.question(self, "Ingest running", "An ingest is running. Stop it and quit? "
                                    "Files already catalogued are kept; run it again to finish.") \
                    != QMessageBox.StandardButton.Yes:
                e.ignore()
                return
        self.close_case()
        super().closeEvent(e)

    def show_tab(self, w: QWidget) -> None:
        self.tabs.setCurrentWidget(w)

    def _tab_changed(self, n: int) -> None:
        w = self.tabs.widget(n)
        if w is getattr(self, "people", None):
            self.people.refresh()
        elif w is getattr(self, "audit", None):
            self.audit.refresh()

    # -- gallery ------------------------------------------------------------------------
    def refresh_gallery(self, keep_position: bool = False) -> None:
        """Re-run the gallery query in the background; the newest request wins."""
        if self.case is None or self.gallery is None:
            return
        keep = (self.gallery.selected_ids(), self.gallery.current_id()) if keep_position else None
        self._waiting = None  # a list read for an older request
        self.queries.query(*self.gallery.current_filter(), keep=keep)
        self.map_view.set_filter(self.gallery.current_filter()[0], reload=keep_position)

    def _map_selected(self, ids: list[int]) -> None:
        """A click on the map selects the items of that marker in the gallery."""
        if self.gallery is not None:
            self.gallery.select_ids(ids)
            self._update_selection()

    def _show_page(self, ids: list[int]) -> None:
        """The first page of a new list: painted while the rest is read. The whole list
        waits for that paint and for the timeline's points, if they are on their way: its
        layout of every row (0.1 s of the GUI thread at 100,000 rows) would hold them up.
        The page is more than a screenful, so nothing on screen waits for the rest."""
        if self.model is None:
            return
        self.model.set_ids(ids, complete=False)
        self._waiting = None
        self._page_token += 1
        self._holds = {"paint", "timeline"} if self.timeline.loading else {"paint"}
        if not self.gallery.list.isVisible():
            self._holds.clear()
            return
        # one-shot and made here, so it runs after whatever else listens for the page's paint
        self.gallery.list.painted.connect(lambda: self._release("paint"), Qt.ConnectionType.SingleShotConnection)
        # A window that is not painted (minimised) or a slow timeline must not keep the list waiting.
        QTimer.singleShot(1000, lambda token=self._page_token: self._release(None, token))

    def _timeline_loaded(self, *args) -> None:
        if "timeline" not in self._holds:
            return
        if self.timeline_dock is not None and self.timeline_dock.isVisible():
            self.timeline_dock.repaint()  # the bars now, not after the gallery's layout of every row
        self._release("timeline")

    def _release(self, hold: str | None, token: int | None = None) -> None:
        """`hold` came (None: all of them, for the page `token`); the whole list follows
        when nothing holds it any more."""
        if token is not None and token != self._page_token:
            return
        if hold is None:
            self._holds.clear()
        else:
            self._holds.discard(hold)
        if not self._holds and self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            self._set_ids(*waiting)

    def _set_ids(self, ids: list[int], keep) -> None:
        if self.model is None:
            return
        if self._holds:
            self._waiting = (ids, keep)
            return
        if self.model.complete_ids(ids):
            self._update_counts()
        else:
            self.model.set_ids(ids)
        if keep and keep[0]:
            self.gallery.select_ids(keep[0])
        self.gallery_refreshed.emit()

    def refresh_facets(self) -> None:
        self.queries.facets()

    def _update_counts(self, *args) -> None:
        if self.model is not None:
            n = self.model.rowCount()
            self.count_label.setText(f"{n:,} items shown" if self.model.complete else f"{n:,}+ items shown (counting…)")
            self._update_selection()

    def _update_selection(self, *args) -> None:
        if self.gallery is not None:
            n = len(self.gallery.list.selectionModel().selectedIndexes())
            self.selection_label.setText(f"{n:,} selected" if n else "")

    def show_item(self, item_id: int) -> None:
        if self.gallery is not None and self.model is not None and self.model.row_of(item_id) is not None:
            self.gallery.select_ids([item_id])
        self.item_view.show_item(item_id)
        self.show_tab(self.item_view)
        self.item_view.setFocus()

    def _step_item(self, step: int) -> None:
        new = self.gallery.move_current(step) if self.gallery else None
        if new is not None:
            self.item_view.show_item(new)

    # -- categorising ----------------------------------------------------------------------
    def selection(self) -> list[int]:
        if self.case is None:
            return []
        if self.tabs.currentWidget() is getattr(self, "item_view", None) and self.item_view.item_id:
            return [self.item_view.item_id]
        return self.gallery.selected_ids() if self.gallery else []

    def categorise(self, n: int) -> None:
        self.apply_edit(self.selection(), category=n, whole_copy_group=self.whole_group_action.isChecked(),
                        label=f"Set category {n}")

    def toggle_bookmark(self) -> None:
        ids = self.selection()
        if not ids or self.model is None:
            return
        # A toggle follows the first selected item.
        self.apply_edit(ids, bookmarked=not self.queries.is_bookmarked(ids[0]), label="Bookmark")

    def add_tag(self, tag: str | None = None) -> None:
        ids = self.selection()
        if not ids:
            return
        if tag is None:
            tags = list(self.case.tags()) if self.case else []
            tag, ok = QInputDialog.getItem(self, "Add tag", f"Tag for {len(ids)} item(s):", tags, 0, True)
            if not ok or not tag.strip():
                return
        self.apply_edit(ids, add_tags=[tag.strip()], label=f"Tag '{tag.strip()}'")

    def apply_edit(self, ids: list[int], label: str = "Edit", **kw) -> None:
        """Categorise, tag, annotate or bookmark `ids` (undoable)."""
        self.edits.apply(ids, label, **kw)

    def _undo_changed(self, enabled: bool, text: str) -> None:
        self.undo_action.setEnabled(enabled)
        self.undo_action.setText(text)

    def _after_edit(self, ids: list[int]) -> None:
        if self.model is not None:
            self.model.refresh(ids)
        if getattr(self, "item_view", None) and self.item_view.item_id in ids:
            self.item_view.show_item(self.item_view.item_id)
        self.refresh_facets()
        self.statusBar().showMessage(f"{len(ids)} item(s) updated", 3000)
        self.edit_done.emit()

    def undo(self) -> None:
        self.edits.undo()

    # -- ingest ----------------------------------------------------------------------------
    def add_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Add evidence folder (opened read-only)")
        if d:
            self.ask_ingest([d])

    def add_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add evidence files (opened read-only)")
        if files:
            self.ask_ingest(files)

    def add_image_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(
            self, "Add disk image (opened read-only; choose the first segment)", "",
            "Disk images (*.E01 *.e01 *.Ex01 *.ex01 *.dd *.raw *.img *.bin *.001);;All files (*)")
        if f:
            self.ask_ingest([f])

    def _show_source_alerts(self) -> None:
        """Problems with the evidence itself (an image whose media hash does not match its
        acquisition hash, an unreadable image or partition) stay in sight in the status bar."""
        alerts = self.case.source_alerts() if self.case is not None else []
        self.source_alert_label.setVisible(bool(alerts))
        if alerts:
            mismatch = any("MISMATCH" in a for a in alerts)
            self.source_alert_label.setText(("  ⚠ ACQUISITION HASH MISMATCH  " if mismatch else "")
                                            + f"  ⚠ {len(alerts)} evidence source problem(s)  ")
            self.source_alert_label.setToolTip("\n".join(alerts))

    def ask_ingest(self, paths: list[str]) -> None:
        dlg = QDialog(self)
        dlg.setWindowTitle("Add evidence")
        lay = QVBoxLayout(dlg)
        lay.addWidget(QLabel("Catalogue (read-only):\n" + "\n".join(paths[:10]) + ("\n…" if len(paths) > 10 else "")))
        faces = QCheckBox("Detect faces (slower)", checked=True)
        lay.addWidget(faces)
        lay.addWidget(QLabel("Run on a Dask cluster (optional): local:N, or a lab scheduler tls://host:8786"))
        cluster = QLineEdit(str(self.settings.value("ingest/cluster", "") or ""))
        cluster.setObjectName("cluster_address")
        cluster.setPlaceholderText("empty: this machine's process pool")
        lay.addWidget(cluster)
        insecure = QCheckBox("Allow plain tcp:// to another machine (trusted, isolated lab network only)")
        lay.addWidget(insecure)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(dlg.accept)
        bb.rejected.connect(dlg.reject)
        lay.addWidget(bb)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.settings.setValue("ingest/cluster", cluster.text().strip())
            self.ingest(paths, faces=faces.isChecked(), cluster=cluster.text().strip() or None,
                        insecure_cluster=insecure.isChecked())

    def ingest(self, paths: list[str | os.PathLike], faces: bool = True, workers: int = 0,
               cluster: str | None = None, insecure_cluster: bool = False) -> None:
        """Catalogue evidence in the background, then bring the case-wide analysis up to
        date (the CLI's sequence); the gallery grows as batches commit."""
        if self.case is None:
            QMessageBox.information(self, "No case", "Create or open a case first.")
            return
        if self.ingest_controller.running:
            QMessageBox.information(self, "Ingest running", "Wait for the running ingest to finish, or cancel it.")
            return
        try:
            self.ingest_controller.start(paths, faces=faces, workers=workers, cluster=cluster,
                                         insecure_cluster=insecure_cluster)
        except CaseError as exc:
            QMessageBox.warning(self, "Cluster", str(exc))

    def cancel_ingest(self) -> None:
        self.ingest_controller.cancel()

    def _apply_commits(self, ids: list[int]) -> None:
        """Append newly committed items that pass the current filter."""
        if self.gallery is not None:
            self.queries.new_items(ids, *self.gallery.current_filter())

    def _ingest_ended(self, outcome) -> None:
        self.ingest_panel.finish()
        if isinstance(outcome, TaskError):
            self.refresh_gallery(keep_position=True)
            self._task_error(outcome)
            self.ingest_finished.emit(outcome)
            return
        if outcome is not None:
            s = outcome.as_dict()
            self.statusBar().showMessage(
                f"Ingest {'cancelled' if s.get('cancelled') else 'finished'}: {s.get('added', 0)} added, "
                f"{s.get('failed', 0)} with errors, {s.get('skipped', 0)} already in the case", 10000)
        self.refresh_gallery(keep_position=True)
        self.refresh_facets()
        self._show_source_alerts()
        self.ingest_finished.emit(outcome)

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if e.mimeData().hasUrls() and self.case is not None:
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.ask_ingest(paths)

    # -- analysis ------------------------------------------------------------------------
    def find_person(self, face_id: int) -> None:
        self.face_search.search_face(face_id)
        self.show_tab(self.face_search)

    def find_similar(self, item_id: int) -> None:
        self.similar.search_item(item_id)
        self.show_tab(self.similar)

    def find_similar_current(self) -> None:
        ids = self.selection()
        if ids:
            self.find_similar(ids[0])

    def group_copies(self) -> None:
        self.analysis.group_copies()

    def cluster_faces(self) -> None:
        self.analysis.cluster_faces()

    def _analysis_done(self, label: str, result) -> None:
        self.statusBar().showMessage(f"{label}: done", 8000)
        self.refresh_gallery(keep_position=True)
        self.refresh_facets()
        if label == "Cluster faces" and getattr(self, "people", None) is not None:
            self.people.refresh()

    def export_report(self) -> None:
        from gui.dialogs.report import ReportDialog

        if self.case is not None:
            ReportDialog(self.case, self.tasks, self.gallery.selected_ids() if self.gallery else [], self).exec()

    # -- hash sets ----------------------------------------------------------------------
    def show_hash_sets(self):
        """The case's hash sets (kind, category handling, counts), with import and remove."""
        from gui.dialogs.hashsets import HashSetsDialog

        return self._hashset_dialog(HashSetsDialog)

    def import_hash_set(self):
        from gui.dialogs.hashsets import HashSetImportDialog

        return self._hashset_dialog(HashSetImportDialog)

    def _hashset_dialog(self, cls):
        if self.case is None:
            return None
        dlg = cls(self.hashsets, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def _hashsets_changed(self, result: dict) -> None:
        # Matches change categories, badges and the hash-set filter's answer.
        self.statusBar().showMessage(f"Hash set {result.get('name')}: {result.get('matched_items', 0):,} items match",
                                     8000)
        self.refresh_gallery(keep_position=True)
        self.refresh_facets()
        if getattr(self, "item_view", None) and self.item_view.item_id:
            self.item_view.show_item(self.item_view.item_id)  # its hash-set lines and category

    # -- errors ------------------------------------------------------------------------------
    def _task_error(self, err: TaskError) -> None:
        self.show_error("The operation failed", err)

    def show_error(self, title: str, exc: BaseException) -> None:
        from gui.app import error_box

        error_box(self, title, exc)
