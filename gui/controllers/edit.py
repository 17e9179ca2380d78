"""Categorising, tagging, notes and bookmarks on the writer executor, with undo."""
from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal

from forensics.case import Case
from gui.tasks import TaskRunner


class EditController(QObject):
    edited = pyqtSignal(list)  # ids changed (by an edit or an undo)
    undo_changed = pyqtSignal(bool, str)  # can undo, menu text
    failed = pyqtSignal(object)  # TaskError

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None
        self.undo_stack: list[tuple[str, dict]] = []

    def set_case(self, case: Case | None) -> None:
        self.case = case
        self.undo_stack.clear()
        self._announce()

    def apply(self, ids: list[int], label: str = "Edit", **kw) -> None:
        """Run `Case.tag_items(ids, **kw)`; the previous state it returns is kept for undo."""
        if not ids or self.case is None:
            return
        case = self.case
        self.tasks.run(label, lambda t: case.tag_items(ids, **kw), writer=True,
                       on_done=lambda before: self._applied(label, before), on_error=self.failed.emit, owner=self)

    def _applied(self, label: str, before: dict) -> None:
        self.undo_stack.append((label, before))
        self._announce()
        self.edited.emit(list(before))

    def undo(self) -> None:
        if not self.undo_stack or self.case is None:
            return
        label, before = self.undo_stack.pop()
        self._announce()
        case = self.case
        self.tasks.run(f"Undo {label}", lambda t: case.restore_items(before), writer=True,
                       on_done=lambda _: self.edited.emit(list(before)), on_error=self.failed.emit, owner=self)

    def _announce(self) -> None:
        self.undo_changed.emit(bool(self.undo_stack),
                               f"&Undo {self.undo_stack[-1][0]}" if self.undo_stack else "&Undo")
