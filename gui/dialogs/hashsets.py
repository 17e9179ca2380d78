"""Known-hash sets: the import dialog (md5/SHA lists, NSRL RDS v3, Project VIC VICS) with
progress and cancel, and the list of the case's sets with their kind, how they categorise
and their counts. The work is `case.hashsets` through HashSetController."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                             QHeaderView, QLabel, QLineEdit, QMessageBox, QSpinBox, QTableWidget, QTableWidgetItem,
                             QVBoxLayout, QWidget)

from forensics.model import CaseError, Progress
from gui.controllers.hashsets import HashSetController
from gui.tasks import Task, TaskError
from gui.widgets.form_rows import path_row, progress_rows

FORMATS = {"hashlist": "hash list (MD5/SHA-1/SHA-256, one a line)", "nsrl-rds3": "NSRL RDS v3 (SQLite)",
           "vics-json": "Project VIC VICS JSON (1.x or 2.0)"}
FILE_FILTER = ("Hash sets (*.json *.md5 *.sha1 *.sha256 *.txt *.csv *.hash *.db *.sqlite);;All files (*)")


def statuses_text(statuses: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {k}" for k, n in statuses.items())


class HashSetImportDialog(QDialog):
    """Choose a file, name the set, say what entries without a category are; the import
    runs in the background and Cancel rolls it back."""

    def __init__(self, controller: HashSetController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.task: Task | None = None
        self.result: dict | None = None
        self.setWindowTitle("Import hash set")
        self.setMinimumWidth(620)
        form = QFormLayout(self)
        self.path = QLineEdit()
        self.path.setPlaceholderText("md5sum/sha1sum list, NSRL RDS v3 .db or VICS .json")
        self.path.editingFinished.connect(self._path_changed)
        path_row(form, "File", self.path, self._browse)
        self.format_label = QLabel("")
        self.format_label.setWordWrap(True)
        form.addRow("Format", self.format_label)
        self.name = QLineEdit()
        form.addRow("Name", self.name)
        self.kind = QComboBox()
        self.kind.addItem("known-bad", "known-bad")
        self.kind.addItem("known-good (e.g. NSRL: hidden with 'hide known-good')", "known-good")
        self.kind.setToolTip("What entries without a category of their own are. A VICS entry's own category decides"
                             " for it: 0 non-pertinent, 1-2 known-bad, others given to matching items.")
        self.kind.currentIndexChanged.connect(self._kind_changed)
        form.addRow("Entries without a category", self.kind)
        self.category = QSpinBox()
        self.category.setRange(-1, 99)
        self.category.setSpecialValueText("none")
        self.category.setValue(-1)
        self.category.setToolTip("Category given to items matching known-bad entries that carry none")
        form.addRow("Category for them", self.category)
        self.bar, self.message = progress_rows(form)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.clicked.connect(self.start)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self._cancel)
        form.addRow(self.buttons)

    # -- choosing ----------------------------------------------------------------
    def set_file(self, path: str) -> None:
        self.path.setText(path)
        self._path_changed()

    def _browse(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Hash set file", self.path.text(), FILE_FILTER)
        if f:
            self.set_file(f)

    def _path_changed(self) -> None:
        path = self.path.text().strip()
        if not path:
            return
        if not self.name.text().strip():
            self.name.setText(Path(path).stem)
        try:
            fmt = self.controller.detect_format(path)
        except CaseError as exc:
            self.format_label.setText(f"⚠ {exc}")
            return
        self.format_label.setText(FORMATS.get(fmt, fmt))

    def _kind_changed(self) -> None:
        self.category.setEnabled(self.kind.currentData() == "known-bad")

    # -- running ------------------------------------------------------------------
    def start(self) -> Task | None:
        path, name = self.path.text().strip(), self.name.text().strip()
        if not path or not name:
            self.message.setText("⚠ Choose a file and name the set.")
            return None
        kind = self.kind.currentData()
        category = self.category.value() if kind == "known-bad" and self.category.value() >= 0 else None
        self.import_button.setEnabled(False)
        self.message.setText("Importing…")
        self.bar.setRange(0, 0)
        self.bar.show()
        self.task = self.controller.import_file(path, name, kind, category, on_done=self._done, on_error=self._failed,
                                                on_progress=self._progress, owner=self)
        self.task.cancelled.connect(self._cancelled)  # only after Cancel, so never missed
        return self.task

    def _progress(self, p: Progress) -> None:
        if p.total:
            # QProgressBar holds an int: bytes of a multi-gigabyte set go as thousandths.
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(p.done, p.total) / p.total))
        if p.message:
            self.message.setText(p.message + (f", {p.failed:,} rejected" if p.failed else ""))

    def _done(self, r: dict) -> None:
        self.result = r
        self._ended(f"Imported {r['entries']:,} hashes ({statuses_text(r['by_status'])}; {r['rejected']:,} rejected,"
                    f" {r['zero_length']:,} of empty files never match) as {r['name']} [{r['format']}]:"
                    f" {r['matched_items']:,} items match, {r['categorised_items']:,} categorised.")
        self.import_button.setEnabled(False)  # one import per dialog: its result stays on screen
        self.cancel_button.setText("Close")

    def _failed(self, err: TaskError) -> None:
        self._ended(f"⚠ {err.message}")

    def _cancelled(self) -> None:
        self._ended("Import cancelled: nothing of the set was kept (the cancel is in the audit log).")

    def _ended(self, text: str) -> None:
        self.bar.hide()
        self.message.setText(text)
        self.import_button.setEnabled(True)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.finished

    def _cancel(self) -> None:
        if self.running:
            self.task.cancel.set()
            self.message.setText("Cancelling…")
            return
        self.reject()

    def closeEvent(self, e) -> None:  # noqa: N802 - closing the window while importing cancels, like Cancel
        if self.running:
            self.task.cancel.set()
            e.ignore()
            return
        super().closeEvent(e)


COLUMNS = ("Name", "Format", "Default kind", "Category handling", "Entries", "By status", "Rejected",
           "Matched items", "Imported")


class HashSetsDialog(QDialog):
    """The case's imported sets with their counts; import and remove from here."""

    def __init__(self, controller: HashSetController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.sets: list[dict] = []
        self.setWindowTitle("Hash sets")
        self.resize(1100, 360)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table)
        self.empty = QLabel("No hash sets in this case. Import a hash list, an NSRL RDS v3 database or a VICS file.")
        lay.addWidget(self.empty)
        self.unfinished = QLabel("")
        self.unfinished.setWordWrap(True)
        self.unfinished.setStyleSheet("color: #8a5a00")
        lay.addWidget(self.unfinished)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = buttons.addButton("Import…", QDialogButtonBox.ButtonRole.ActionRole)
        self.import_button.clicked.connect(self.open_import)
        self.remove_button = buttons.addButton("Remove", QDialogButtonBox.ButtonRole.ActionRole)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        controller.sets_ready.connect(self.show_sets)
        controller.changed.connect(self._changed)  # a bound slot: dropped with the dialog
        controller.refresh()

    def _changed(self, result: dict) -> None:
        self.controller.refresh()

    def show_sets(self, sets: list[dict], unfinished: list[dict] | None = None) -> None:
        self.sets = sets
        # A killed or still-running import never matches; running the import again replaces it.
        self.unfinished.setText("\n".join(
            f"Not imported: {u['name']} (an import that did not finish, {u['entries_so_far']:,} hashes so far,"
            " never matched; import it again)" for u in unfinished or []))
        self.unfinished.setVisible(bool(unfinished))
        self.table.setRowCount(len(sets))
        for r, s in enumerate(sets):
            cells = (s["name"], s["format"], s["kind"], s["category_handling"], f"{s['entries']:,}",
                     statuses_text(s["statuses"]), f"{s['rejected']:,}", f"{s['matched_items']:,}",
                     f"{s['imported_utc']} by {s['imported_by']}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if c in (4, 6, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(f"{s['source_path']}\nSHA-256 {s['source_sha256']}")
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        self.empty.setVisible(not sets)
        self.remove_button.setEnabled(bool(sets))

    def open_import(self) -> HashSetImportDialog:
        dlg = HashSetImportDialog(self.controller, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def remove_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        s = self.sets[rows[0].row()]
        if QMessageBox.question(self, "Remove hash set",
                                f"Remove {s['name']} ({s['entries']:,} hashes) and its matches? Categories it gave"
                                " to items stay (they are yours to change). The removal is audited.") \
                == QMessageBox.StandardButton.Yes:
            self.controller.remove(s["set_id"])
