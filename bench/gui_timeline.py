"""The activity timeline's figures for bench/gui.py, measured in the same run as the
gallery's: first paint (from opening the case to the first paint with bars) and the
GUI-thread block of each redraw step: wheel zoom in and out (bins re-computed from years
down to minutes), drag-pan, and a brush being dragged and released (which writes the
filter panel's dates and starts the gallery query). Targets: first paint < 1 s, every
redraw < 50 ms.
"""
from __future__ import annotations

import time


class TimelineWatch:
    """Records when the timeline's first query starts (made before the case is opened) and
    when its canvas first paints with the points loaded (`attach` once the case is open)."""

    def __init__(self, win) -> None:
        self.first_paint: float | None = None
        self.requested: float | None = None  # when the timeline's first query started
        win.tasks.task_started.connect(lambda task: task.label == "Timeline" and self.requested is None
                                       and setattr(self, "requested", time.perf_counter()))

    def attach(self, win) -> "TimelineWatch":
        from PyQt6.QtCore import QEvent, QObject

        self.canvas = canvas = win.timeline_dock.timeline.canvas
        watch = self

        class PaintWatch(QObject):
            def eventFilter(self, obj, ev):  # noqa: N802 - Qt name
                if (ev.type() == QEvent.Type.Paint and watch.first_paint is None and canvas.points is not None
                        and len(canvas.points)):
                    watch.first_paint = time.perf_counter()
                return False

        self._filter = PaintWatch()
        canvas.installEventFilter(self._filter)
        return self


def _stats(prefix: str, blocks: list[tuple[float, float]]) -> dict:
    """Wall clock and GUI-thread CPU per step (the CPU time is what the step itself cost,
    without waiting for a core other processes hold)."""
    wall, cpu = sorted(b[0] for b in blocks), sorted(b[1] for b in blocks)
    return {f"{prefix}_steps": len(wall), f"{prefix}_max_ms": round(wall[-1] * 1000, 1),
            f"{prefix}_median_ms": round(wall[len(wall) // 2] * 1000, 2),
            f"{prefix}_cpu_max_ms": round(cpu[-1] * 1000, 1)}


def measure_timeline(app, win, opened_at: float, watch: TimelineWatch) -> dict:
    from PyQt6.QtCore import QEventLoop, QPoint, QPointF, Qt
    from PyQt6.QtGui import QMouseEvent, QWheelEvent

    from forensics import timeline

    while watch.first_paint is None:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    canvas = watch.canvas
    out = {"timeline_items": len(canvas.points), "timeline_first_paint_s": round(watch.first_paint - opened_at, 3),
           "timeline_request_to_paint_s": round(watch.first_paint - (watch.requested or opened_at), 3)}
    t = time.perf_counter()
    timeline.time_points(win.case.ctx, timeline.without_dates(win.gallery.filters.filter()))
    out["timeline_query_s"] = round(time.perf_counter() - t, 3)

    def step(fn) -> tuple[float, float]:
        s, c = time.perf_counter(), time.thread_time()
        fn()
        canvas.repaint()  # paint now, synchronously: the cost a user would feel
        app.processEvents()
        return time.perf_counter() - s, time.thread_time() - c

    def wheel(x: float, clicks: int) -> None:
        pos = QPointF(x, canvas.height() / 2)
        app.sendEvent(canvas, QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * clicks),
                                          Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                          Qt.ScrollPhase.NoScrollPhase, False))

    def mouse(kind, x: float, button, buttons) -> None:
        pos = QPointF(x, canvas.height() / 2)
        app.sendEvent(canvas, QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons,
                                          Qt.KeyboardModifier.NoModifier))

    x = canvas.width() * 0.55
    units: list[str] = []
    zoom: list[float] = []
    for clicks in [1] * 45 + [-1] * 45:
        zoom.append(step(lambda c=clicks: wheel(x, c)))
        if not units or units[-1] != canvas.hist.unit:
            units.append(canvas.hist.unit)
    out.update(_stats("timeline_zoom", zoom))
    out["timeline_zoom_units"] = "→".join(units)
    from PyQt6.QtCore import QEvent

    left, right = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
    none = Qt.MouseButton.NoButton
    canvas.zoom(0.05)  # a month or so across: pan through days
    pan = [step(lambda: mouse(QEvent.Type.MouseButtonPress, 600, right, right))]
    for i in range(30):
        pan.append(step(lambda i=i: mouse(QEvent.Type.MouseMove, 600 - 10 * (i + 1), none, right)))
    pan.append(step(lambda: mouse(QEvent.Type.MouseButtonRelease, 300, right, none)))
    out.update(_stats("timeline_pan", pan))
    canvas.reset_view()
    brush = [step(lambda: mouse(QEvent.Type.MouseButtonPress, 300, left, left))]
    for i in range(30):
        brush.append(step(lambda i=i: mouse(QEvent.Type.MouseMove, 300 + 8 * (i + 1), none, left)))
    done: list[float] = []
    win.gallery_refreshed.connect(lambda: done.append(time.perf_counter()))
    s = time.perf_counter()
    release = step(lambda: mouse(QEvent.Type.MouseButtonRelease, 540, left, none))
    brush.append(release)
    out.update(_stats("timeline_brush", brush))
    out["timeline_brush_release_ms"] = round(release[0] * 1000, 1)
    while not done:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    out["timeline_brush_gallery_s"] = round(done[0] - s, 3)
    out["timeline_brush_items"] = win.model.rowCount()
    with_dates = win.gallery.filters
    out["timeline_brush_dates"] = f"{with_dates.date_from.text()} .. {with_dates.date_to.text()}"
    with_dates.set_dates(None, None)
    done.clear()
    while not done:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    return out


def timeline_ok(r: dict) -> bool:
    return (r["timeline_first_paint_s"] < 1.0 and r["timeline_zoom_max_ms"] < 50 and r["timeline_pan_max_ms"] < 50
            and r["timeline_brush_max_ms"] < 50)
