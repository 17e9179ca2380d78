"""The timeline's query: the capture times of the gallery's filter (less its date range),
loaded off the GUI thread and kept until the filter or the case's items change."""
from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal

from forensics import timeline
from forensics.browse import ItemFilter
from forensics.case import Case
from gui.controllers.latest import LatestQueries
from gui.tasks import TaskRunner


class TimelineController(LatestQueries):
    points_ready = pyqtSignal(object)  # forensics.timeline.TimePoints
    failed = pyqtSignal(object)  # TaskError

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(tasks, parent)
        self._key: tuple[ItemFilter, str] | None = None  # what the last request loaded
        self.loading = False  # the newest request has not answered yet

    def set_case(self, case: Case | None) -> None:
        super().set_case(case)
        self._key = None
        self.loading = False

    def load(self, filt: ItemFilter, split: str, force: bool = False) -> None:
        """Load the points for `filt` split by `split`, unless they are already loaded
        (brushing changes only the date range, which the timeline does not filter on)."""
        if self.case is None:
            return
        key = (timeline.without_dates(filt), split)
        if key == self._key and not force:
            return
        self._key = key
        self._serial += 1
        serial, ctx = self._serial, self.case.ctx
        self.loading = True
        self.tasks.run("Timeline", lambda t: timeline.time_points(ctx, key[0], split), writer=False,
                       on_done=lambda pts: self._done(serial, pts), on_error=lambda err: self._failed(err, serial),
                       owner=self)

    def _done(self, serial: int, pts) -> None:
        if serial == self._serial:
            self.loading = False
            self.points_ready.emit(pts)

    def invalidate(self) -> None:
        """The items changed (an edit, an ingest): the next load queries again."""
        self._key = None

    def _failed(self, err, serial: int | None = None) -> None:
        if serial == self._serial:
            self.loading = False
        self._key = None
        self.failed.emit(err)
