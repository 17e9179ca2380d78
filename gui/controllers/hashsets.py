"""Known-hash sets from the workbench: import (`case.hashsets.import_file`, the CLI's call,
audited the same way) on the long-job pool with progress and cancel, the list of imported
sets, and removal. Views refresh from the `changed` signal."""
from __future__ import annotations

import os
from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

from forensics.case import Case
from forensics.model import Progress
from gui.tasks import Task, TaskError, TaskRunner


class HashSetController(QObject):
    sets_ready = pyqtSignal(list, list)  # case.hashsets.sets() rows, unfinished() imports
    changed = pyqtSignal(dict)  # a set was imported or removed: the core's result
    failed = pyqtSignal(object)  # TaskError

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None

    def set_case(self, case: Case | None) -> None:
        self.case = case

    def detect_format(self, path: str | os.PathLike) -> str:
        """The format the import would read (CaseError for a file that is no hash set)."""
        if self.case is None:
            raise RuntimeError("no case is open")
        return self.case.hashsets.detect_format(path)

    def import_file(self, path: str | os.PathLike, name: str, kind: str, category: int | None, *,
                    on_done: Callable[[dict], None] | None = None,
                    on_error: Callable[[TaskError], None] | None = None,
                    on_progress: Callable[[Progress], None] | None = None, owner: QObject | None = None) -> Task:
        """Start an import. The callbacks are connected before it starts (a bad file fails
        at once); `changed` follows a finished import. Setting the task's cancel rolls the
        import back and ends it `cancelled`."""
        if self.case is None:
            raise RuntimeError("no case is open")
        case = self.case

        def job(task: Task) -> dict:
            return case.hashsets.import_file(path, name, kind=kind, category=category, progress=task.report,
                                             cancel=task.cancel)

        def done(result: dict) -> None:
            if on_done is not None:
                on_done(result)
            self.changed.emit(result)

        return self.tasks.run(f"Import hash set {name}", job, long=True, on_done=done, on_error=on_error,
                              on_progress=on_progress, owner=owner or self)

    def refresh(self) -> None:
        if self.case is None:
            return
        hashsets = self.case.hashsets
        self.tasks.run("Hash sets", lambda t: (hashsets.sets(), hashsets.unfinished()), writer=False,
                       on_done=lambda both: self.sets_ready.emit(*both), on_error=self.failed.emit, owner=self)

    def remove(self, set_id: int) -> Task | None:
        if self.case is None:
            return None
        hashsets = self.case.hashsets
        return self.tasks.run("Remove hash set", lambda t: hashsets.remove(set_id), writer=True,
                              on_done=self.changed.emit, on_error=self.failed.emit, owner=self)
