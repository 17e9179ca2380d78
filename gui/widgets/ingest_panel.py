"""The status-bar ingest indicator: progress bar, files done, rate, ETA and Cancel."""
from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from forensics.model import Progress


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class IngestPanel(QWidget):
    cancel_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("Ingest")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setRange(0, 0)
        self.rate = QLabel("")
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self._cancel)
        for w in (self.label, self.bar, self.rate, self.cancel):
            lay.addWidget(w)
        self.hide()

    def start(self, label: str) -> None:
        self.label.setText(label)
        self.bar.setRange(0, 0)
        self.rate.setText("discovering files…")
        self.cancel.setEnabled(True)
        self.show()

    def update_progress(self, p: Progress) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        failed = f", {p.failed} failed" if p.failed else ""
        self.rate.setText(f"{p.done:,}/{p.total:,} files{failed} · {p.rate:.1f}/s · ETA {format_eta(p.eta)}"
                          + (f" · {p.message}" if p.message else ""))

    def _cancel(self) -> None:
        self.cancel.setEnabled(False)
        self.rate.setText("cancelling (committed files are kept)…")
        self.cancel_requested.emit()

    def finish(self) -> None:
        self.hide()
