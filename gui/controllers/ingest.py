"""Ingest in the background: `Case.ingest_and_analyse` on the long-job pool, newly
committed items delivered to the GUI thread in batches, one run at a time."""
from __future__ import annotations

import os

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from forensics.case import Case
from gui.tasks import Task, TaskError, TaskRunner

BATCH_MS = 400  # committed ids are passed on at most this often, so the gallery grows smoothly


class IngestController(QObject):
    started = pyqtSignal(str)  # a label for the run
    progress = pyqtSignal(object)  # Progress
    committed = pyqtSignal(list)  # ids of items committed since the last batch (GUI thread)
    finished = pyqtSignal(object)  # IngestSummary (with .analysis), None when cancelled, or TaskError
    _from_worker = pyqtSignal(list)  # ids, emitted on the ingest thread

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.case: Case | None = None
        self.task: Task | None = None
        self._pending: list[int] = []
        self._timer = QTimer(self, singleShot=True, interval=BATCH_MS)
        self._timer.timeout.connect(self.flush)
        self._from_worker.connect(self._on_committed)

    def set_case(self, case: Case | None) -> None:
        self.case = case
        self._pending.clear()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.finished

    def start(self, paths: list[str | os.PathLike], faces: bool = True, workers: int = 0,
              cluster: str | None = None, insecure_cluster: bool = False) -> Task:
        """Catalogue `paths`, then bring hash-set matches, copy groups and clusters up to date:
        the same sequence as `forensics ingest`. `cluster` (local:N or a scheduler address)
        runs the per-file work on Dask; a bad address raises CaseError before anything runs."""
        from forensics.cluster import spec_from
        from forensics.ingest.pipeline import IngestOptions

        if self.case is None:
            raise RuntimeError("no case is open")
        if self.running:
            raise RuntimeError("an ingest is already running")
        case, opts = self.case, IngestOptions(faces=faces, workers=workers)
        spec = spec_from(cluster, insecure=insecure_cluster) if cluster else None

        def job(task: Task):
            return case.ingest_and_analyse(paths, opts, progress=task.report, cancel=task.cancel,
                                           on_committed=lambda ids: self._from_worker.emit(list(ids)), cluster=spec)

        self.started.emit(f"Ingest {len(paths)} source(s)")
        self.task = self.tasks.run("Ingest", job, long=True, on_progress=self.progress.emit,
                                   on_done=self._done, on_error=self._failed, owner=self)
        self.task.cancelled.connect(lambda: self._done(None))
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel.set()

    def _on_committed(self, ids: list[int]) -> None:
        self._pending.extend(ids)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Pass on the ids committed so far (also called when a run ends)."""
        self._timer.stop()
        if self._pending:
            ids, self._pending = self._pending, []
            self.committed.emit(ids)

    def _done(self, summary) -> None:
        self.flush()
        self.finished.emit(summary)

    def _failed(self, err: TaskError) -> None:
        self.flush()
        self.finished.emit(err)
