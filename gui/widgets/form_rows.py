"""Rows the dialogs share: a path field with its browse button, and the progress bar and
message line of a dialog that runs a background job."""
from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton


def path_row(form: QFormLayout, label: str, edit: QLineEdit, browse: Callable[[], None], text: str = "…") -> None:
    """Add `edit` with a browse button beside it (calling `browse`) as the row `label`."""
    button = QPushButton(text)
    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    form.addRow(label, row)


def progress_rows(form: QFormLayout) -> tuple[QProgressBar, QLabel]:
    """A hidden progress bar and a wrapping message line, added to `form`."""
    bar = QProgressBar()
    bar.hide()
    form.addRow(bar)
    message = QLabel("")
    message.setWordWrap(True)
    form.addRow(message)
    return bar, message
