"""The timeline dock under the main window: the activity timeline kept in step with the
gallery's filter panel. A brush writes the panel's date fields (so the gallery filters on
it), and dates typed there move the brush."""
from __future__ import annotations

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QDockWidget, QWidget

from forensics import timeline
from gui.controllers.timeline import TimelineController
from gui.widgets.activity_timeline import ActivityTimeline
from gui.widgets.filter_panel import FilterPanel


class TimelineDock(QDockWidget):
    def __init__(self, controller: TimelineController, filters: FilterPanel, parent: QWidget | None = None) -> None:
        super().__init__("Timeline", parent)
        self.setObjectName("timeline_dock")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.controller = controller
        self.filters = filters
        self.timeline = ActivityTimeline()
        self.setWidget(self.timeline)
        controller.points_ready.connect(self.timeline.set_points)
        self.timeline.brushed.connect(self._brushed)
        self.timeline.split_changed.connect(lambda *_: self.refresh())
        filters.changed.connect(self._filters_changed)
        # While an ingest commits, the bars catch up every few seconds, not per batch.
        self._soon = QTimer(self, singleShot=True, interval=3000)
        self._soon.timeout.connect(self.reload)

    def refresh(self, force: bool = False) -> None:
        """Load the points of the panel's filter (no-op when they are loaded already)."""
        if self.controller.case is None:  # closing: the panel may be gone already
            return
        self.controller.load(self.filters.filter(), self.timeline.current_split(), force)

    def reload(self, *args) -> None:
        self.controller.invalidate()
        self.refresh()

    def reload_soon(self, *args) -> None:
        if not self._soon.isActive():
            self._soon.start()

    def _brushed(self, brush) -> None:
        self.filters.set_dates(*(timeline.range_to_dates(*brush) if brush else (None, None)))

    def _filters_changed(self) -> None:
        f = self.filters.filter()
        start, end = timeline.dates_to_range(f.date_from, f.date_to)
        if start is None and end is None:
            self.timeline.set_brush(None)
        else:
            span = self.timeline.canvas.home_view()
            self.timeline.set_brush((int(start if start is not None else min(span[0], end - 1)),
                                     int(end if end is not None else max(span[1], start + 1))))
        self.refresh()
