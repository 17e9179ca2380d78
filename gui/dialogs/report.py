"""Export a report: choose what it covers and the format, see counts first, export in
the background with progress and cancel (case.reports)."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QLineEdit, QWidget

from forensics.case import Case
from forensics.model import Progress
from gui.tasks import Task, TaskError, TaskRunner
from gui.widgets.form_rows import path_row, progress_rows


class ReportDialog(QDialog):
    def __init__(self, case: Case, tasks: TaskRunner, selected_ids: list[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.tasks = tasks
        self.task: Task | None = None
        self.result: dict | None = None
        self.setWindowTitle("Export report")
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        self.selection = QComboBox()
        self.selection.addItem("Bookmarked items", "bookmarked")
        self.selection.addItem("Everything categorised, tagged, noted or bookmarked", "all-tagged")
        for cid, name in case.categories().items():
            self.selection.addItem(f"Category {cid}: {name}", f"category:{cid}")
        try:
            for p in case.faces.persons():
                self.selection.addItem(f"Person: {p['name'] or p['id']}", f"person:{p['id']}")
        except Exception:  # noqa: BLE001 - no faces in this case: no person selections
            pass
        self.selection.currentIndexChanged.connect(self.preview)
        form.addRow("Covering", self.selection)
        self.fmt = QComboBox()
        for f in ("html", "pdf", "csv"):
            self.fmt.addItem(f.upper(), f)
        self.fmt.currentIndexChanged.connect(self._suffix)
        form.addRow("Format", self.fmt)
        self.path = QLineEdit(str(case.reports_dir / "report.html"))
        path_row(form, "File", self.path, self._browse)
        self.counts = QLabel("")
        self.counts.setWordWrap(True)
        form.addRow("Preview", self.counts)
        self.bar, self.message = progress_rows(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.clicked.connect(self.export)
        self.buttons.rejected.connect(self._cancel)
        form.addRow(self.buttons)
        self.preview()

    def spec(self) -> str:
        return self.selection.currentData()

    def _suffix(self) -> None:
        p = Path(self.path.text())
        self.path.setText(str(p.with_suffix("." + self.fmt.currentData())))

    def _browse(self) -> None:
        f, _ = QFileDialog.getSaveFileName(self, "Report file", self.path.text())
        if f:
            self.path.setText(f)

    def preview(self) -> None:
        spec = self.spec()
        self.counts.setText("counting…")
        self.tasks.run("Report preview", lambda t: self.case.reports.preview(spec), writer=False,
                       on_done=self._previewed, on_error=lambda e: self.counts.setText(f"⚠ {e.message}"), owner=self)

    def _previewed(self, p: dict) -> None:
        faces = "unknown" if p.get("faces") is None else p["faces"]
        extra = "; ".join(p.get("unavailable") or [])
        self.counts.setText(f"{p['description']}: {p['items']} items, {p['persons']} persons, {faces} faces, "
                            f"{p['audit_entries']} audit entries, {p['errors']} errors recorded"
                            + (f" ({extra})" if extra else ""))

    def export(self) -> None:
        out, fmt, spec = self.path.text().strip(), self.fmt.currentData(), self.spec()
        self.export_button.setEnabled(False)
        self.bar.show()
        self.bar.setRange(0, 0)
        self.task = self.tasks.run(
            "Export report", lambda t: self.case.export_report(out, fmt, spec, progress=t.report, cancel=t.cancel),
            long=True, on_done=self._done, on_error=self._failed, on_progress=self._progress, owner=self)
        self.task.cancelled.connect(lambda: self._ended("Export cancelled; no partial file was left."))

    def _progress(self, p: Progress) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.done)

    def _done(self, result: dict) -> None:
        self.result = result
        self._ended(f"Written {result['path']} ({result['bytes']:,} bytes)\nSHA-256 {result['sha256']}"
                    f" (audit entry {result.get('audit_seq')})")

    def _failed(self, err: TaskError) -> None:
        self._ended(f"⚠ {err.message}")

    def _ended(self, text: str) -> None:
        self.bar.hide()
        self.message.setText(text)
        self.export_button.setEnabled(True)

    def _cancel(self) -> None:
        if self.task is not None and not self.task.finished:
            self.task.cancel.set()
            return
        self.reject()
