"""Who is acting: asked whenever a case opens, so every audit entry names a person."""
from __future__ import annotations

from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget


class ExaminerDialog(QDialog):
    """The acting examiner's name, prefilled with the one this OS user last acted under."""

    def __init__(self, case_label: str, suggestion: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Who is acting?")
        self.setMinimumWidth(420)
        form = QFormLayout(self)
        intro = QLabel(f"Opening {case_label}.\nEvery action you take is signed with your key and written to the"
                       " audit log under this name.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.name = QLineEdit(suggestion, placeholderText="your name as it should appear in court")
        form.addRow("Acting examiner *", self.name)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00020")
        form.addRow(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open case")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _accept(self) -> None:
        if not self.name.text().strip():
            self.message.setText("Please enter the name of the examiner acting.")
            return
        self.accept()

    def value(self) -> str:
        return self.name.text().strip()
