"""New case: folder, name, number, examiner and the legal authority, all required."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QLineEdit, QWidget

from gui.widgets.form_rows import path_row


class NewCaseDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, folder: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("New case")
        self.setMinimumWidth(520)
        form = QFormLayout(self)
        self.folder = QLineEdit(folder, placeholderText="an empty folder for the case database and cache")
        path_row(form, "Case folder", self.folder, self._browse, "Browse…")
        self.name = QLineEdit(placeholderText="e.g. Operation Larch")
        self.number = QLineEdit(placeholderText="e.g. 2024-0117")
        self.examiner = QLineEdit(placeholderText="your name")
        self.authority = QLineEdit(placeholderText="warrant, court order or consent reference")
        self.description = QLineEdit()
        form.addRow("Case name *", self.name)
        form.addRow("Case number *", self.number)
        form.addRow("Examiner *", self.examiner)
        form.addRow("Legal authority *", self.authority)
        form.addRow("Description", self.description)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00020")
        form.addRow(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create case")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Case folder")
        if d:
            self.folder.setText(d)

    def missing(self) -> list[str]:
        fields = (("case folder", self.folder), ("case name", self.name), ("case number", self.number),
                  ("examiner", self.examiner), ("legal authority", self.authority))
        return [label for label, w in fields if not w.text().strip()]

    def _accept(self) -> None:
        missing = self.missing()
        if missing:
            self.message.setText("Required: " + ", ".join(missing))
            return
        if (Path(self.folder.text().strip()) / "case.sqlite").exists():
            self.message.setText("That folder already holds a case; open it instead.")
            return
        self.accept()

    def values(self) -> dict:
        return {"path": self.folder.text().strip(), "name": self.name.text().strip(),
                "number": self.number.text().strip(), "examiner": self.examiner.text().strip(),
                "authority": self.authority.text().strip(),
                "description": self.description.text().strip() or None}
