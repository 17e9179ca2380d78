"""Background work for the GUI: two executors and the bridge back to the GUI thread.

Everything that writes to the case runs on one single-thread executor (`writer=True`),
so GUI-started writes are serialised the same way the store serialises them and never
queue behind each other on its lock from many threads; searches, thumbnails and other
reads use a small general pool. A job is a plain function `fn(task)` that may call
`task.report(Progress)` and should check `task.cancel` (a threading.Event the core also
accepts). Results and errors come back as signals on the GUI thread; background code never
touches a widget.
"""
from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, QTimer, pyqtSignal
from PyQt6.QtWidgets import QProgressDialog, QWidget

from forensics.model import Cancelled, Progress


class TaskError(Exception):
    """A job failed: `message` is for people, `details` is the traceback for the record."""

    def __init__(self, message: str, details: str = "", exc: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.exc = exc


def readable(exc: BaseException) -> str:
    """One line an investigator can act on, without a traceback."""
    from forensics.model import CaseError

    if isinstance(exc, CaseError):
        return str(exc)
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    if isinstance(exc, ModuleNotFoundError):
        return f"A component is missing: {exc.name} ({exc})"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class Task(QObject):
    """One background job. Lives on the GUI thread; its signals are emitted from the worker
    and delivered (queued) to GUI-thread receivers."""

    progress = pyqtSignal(object)  # Progress
    succeeded = pyqtSignal(object)  # the job's return value
    failed = pyqtSignal(object)  # TaskError
    cancelled = pyqtSignal()
    ended = pyqtSignal()  # after any of the three above

    def __init__(self, label: str, fn: Callable[["Task"], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.fn = fn
        self.cancel = threading.Event()
        self.result: Any = None
        self.error: TaskError | None = None
        self.finished = False

    def report(self, p: Progress | object) -> None:
        """Called by the job from its thread: a Progress, or a partial result its
        `on_progress` expects (the gallery's first page of ids)."""
        self.progress.emit(p)

    def _run(self) -> None:
        try:
            result = self.fn(self)
        except Cancelled:
            self.finished = True
            self.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - a job must never kill the pool thread
            self.error = TaskError(readable(exc), traceback.format_exc(), exc)
            self.finished = True
            self.failed.emit(self.error)
        else:
            self.result = result
            # Set here, on the worker, so the GUI can tell the job is over even before
            # the queued signals below have been delivered.
            self.finished = True
            if self.cancel.is_set() and result is None:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
        self.ended.emit()


def _guarded(cb: Callable[[Any], None], owner: QObject) -> Callable[[Any], None]:
    from PyQt6 import sip

    def call(value: Any) -> None:
        if not sip.isdeleted(owner):
            cb(value)
    return call


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self.task._run()


class TaskRunner(QObject):
    """The two executors. Keeps a reference to every running task until it ends."""

    task_started = pyqtSignal(object)
    task_ended = pyqtSignal(object)

    def __init__(self, parent: QObject | None = None, workers: int = 2) -> None:
        super().__init__(parent)
        self.writer_pool = QThreadPool(self)
        self.writer_pool.setMaxThreadCount(1)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, workers))
        # Ingest and other jobs that run for minutes get their own threads, so they never
        # hold up a quick search or an edit queued behind them.
        self.long_pool = QThreadPool(self)
        self.long_pool.setMaxThreadCount(2)
        self._active: set[Task] = set()

    def run(self, label: str, fn: Callable[[Task], Any], *, writer: bool = True, long: bool = False,
            on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[TaskError], None] | None = None,
            on_progress: Callable[[Progress], None] | None = None,
            owner: QObject | None = None) -> Task:
        """Start `fn(task)` on the writer executor (default), the read pool
        (`writer=False`) or the long-job pool (`long=True`). Callbacks run on the GUI
        thread; with `owner`, they are dropped once that widget has been deleted (a
        result may arrive after its view was closed)."""
        task = Task(label, fn, self)
        for signal, cb in ((task.succeeded, on_done), (task.failed, on_error), (task.progress, on_progress)):
            if cb is not None:
                signal.connect(_guarded(cb, owner) if owner is not None else cb)
        task.ended.connect(lambda t=task: self._ended(t))
        self._active.add(task)
        self.task_started.emit(task)
        pool = self.long_pool if long else self.writer_pool if writer else self.pool
        pool.start(_Runnable(task))
        return task

    def _ended(self, task: Task) -> None:
        task.finished = True
        self._active.discard(task)
        self.task_ended.emit(task)

    def active(self) -> list[Task]:
        return list(self._active)

    def cancel_all(self) -> None:
        for t in self._active:
            t.cancel.set()

    def wait(self, msecs: int = -1) -> bool:
        """Block until both pools are idle (used on close and in tests)."""
        ok = self.long_pool.waitForDone(msecs)
        ok = self.writer_pool.waitForDone(msecs) and ok
        return self.pool.waitForDone(msecs) and ok


class DelayedProgress(QObject):
    """A modal progress dialog for a task that appears only if the task is still running
    after `delay_ms`, so quick jobs do not flash a window."""

    def __init__(self, task: Task, parent: QWidget | None, title: str, delay_ms: int = 600) -> None:
        super().__init__(parent)
        self.task = task
        self.dialog = QProgressDialog(title, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle(task.label)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(task.cancel.set)
        self.dialog.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show)
        self._timer.start(delay_ms)
        task.progress.connect(self._progress)
        task.ended.connect(self._end)

    def _show(self) -> None:
        if not self.task.finished:
            self.dialog.show()

    def _progress(self, p: Progress) -> None:
        if p.total:
            self.dialog.setMaximum(p.total)
            self.dialog.setValue(min(p.done, p.total))
        if p.message:
            self.dialog.setLabelText(p.message)

    def _end(self) -> None:
        self._timer.stop()
        self.dialog.hide()
        self.dialog.deleteLater()
        self.deleteLater()
