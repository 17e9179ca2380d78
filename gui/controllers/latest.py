"""The base of the query controllers: background reads for the open case where only the
newest request's answer is shown."""
from __future__ import annotations

from PyQt6.QtCore import QObject

from forensics.case import Case
from gui.tasks import TaskRunner


class LatestQueries(QObject):
    """Holds the case and a request serial: a controller captures `self._serial` when it
    starts a read and drops the answer if a newer request (or another case) came since."""

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None
        self._serial = 0  # answers to older requests are dropped

    def set_case(self, case: Case | None) -> None:
        self.case = case
        self._serial += 1
