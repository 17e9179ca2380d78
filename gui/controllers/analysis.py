"""Case-wide analysis started from the menus: copy groups and face clusters, as long jobs
with a progress dialog that appears only when they take a while."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QWidget

from forensics.case import Case
from gui.tasks import DelayedProgress, Task, TaskRunner


class AnalysisController(QObject):
    done = pyqtSignal(str, object)  # label, result
    failed = pyqtSignal(object)  # TaskError

    def __init__(self, tasks: TaskRunner, window: QWidget) -> None:
        super().__init__(window)
        self.tasks = tasks
        self.window = window
        self.case: Case | None = None

    def set_case(self, case: Case | None) -> None:
        self.case = case

    def group_copies(self) -> Task | None:
        return self.run("Group copies", lambda t, c: c.copies.group(progress=t.report, cancel=t.cancel))

    def cluster_faces(self) -> Task | None:
        return self.run("Cluster faces", lambda t, c: c.faces.cluster())

    def run(self, label: str, fn: Callable[[Task, Case], Any]) -> Task | None:
        if self.case is None:
            return None
        case = self.case
        task = self.tasks.run(label, lambda t: fn(t, case), long=True,
                              on_done=lambda result: self.done.emit(label, result),
                              on_error=self.failed.emit, owner=self)
        DelayedProgress(task, self.window, label)
        return task
