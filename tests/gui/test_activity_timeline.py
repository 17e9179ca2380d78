"""The activity timeline in the main window: brushing filters the gallery, the filter
panel's date fields follow the brush and move it, zooming changes the bin width, and EXIF
times without a zone are marked. Driven with real mouse and wheel events on the sample case
(seven phone photos carry zone-less EXIF times in March and May 2024, the trip photos June to
October 2024, some with an offset; the other files only file times, from when the sample
evidence was built)."""
from __future__ import annotations

from datetime import datetime, timezone

from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtWidgets import QApplication

from forensics import browse, timeline
from forensics.browse import ItemFilter


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def _timeline(window, qtbot):
    """The window's timeline once its points have loaded."""
    tlw = window.timeline_dock.timeline
    qtbot.waitUntil(lambda: tlw.canvas.points is not None and len(tlw.canvas.points) > 0, timeout=10_000)
    return tlw


def _x(canvas, seconds: int) -> QPoint:
    return QPoint(round(canvas.x_of(seconds)), canvas.height() // 2)


def _wheel(canvas, x: float, clicks: int) -> None:
    pos = QPointF(x, canvas.height() / 2)
    ev = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * clicks), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, ev)


def _names(window) -> set[str]:
    case = window.case
    ids = [window.model.id_at(r) for r in range(window.model.rowCount())]
    return {r["name"] for r in browse.item_rows(case.ctx, ids)}


def test_brushing_the_timeline_filters_the_gallery(opened, qtbot) -> None:
    tlw = _timeline(opened, qtbot)
    canvas = tlw.canvas
    assert canvas.hist.unit in ("week", "month")  # the whole case: 2024 to the build date of the sample
    all_shown = opened.model.rowCount()
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=_x(canvas, _ts("2024-05-01T12:00:00")))
        qtbot.mouseMove(canvas, _x(canvas, _ts("2024-05-04T00:00:00")))
        qtbot.mouseMove(canvas, _x(canvas, _ts("2024-05-06T12:00:00")))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=_x(canvas, _ts("2024-05-06T12:00:00")))
    # The brush took the whole bins it touched; the gallery shows exactly the photos of early
    # May 2024 (1-6 May), not the one of March.
    start, end = canvas.brush
    assert start in canvas.hist.edges and end in canvas.hist.edges
    assert start <= _ts("2024-05-01T00:00:00") and end >= _ts("2024-05-07T00:00:00") and end - start <= 62 * 86400
    assert _names(opened) == {f"IMG_{i:04d}.jpg" for i in range(10, 16)}
    assert opened.model.rowCount() < all_shown
    # The date fields follow the brush: whole days, the end inclusive.
    f = opened.gallery.filters
    frm, to = timeline.range_to_dates(start, end)
    assert (f.date_from.text(), f.date_to.text()) == (frm, to) and len(frm) == len(to) == 10
    assert f"{frm} – {to}" in tlw.brush_label.text()
    # The timeline keeps showing the whole case around the brush (it ignores its own dates).
    assert len(canvas.points) >= all_shown - canvas.points.undated
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        tlw.clear.click()
    assert canvas.brush is None and f.date_from.text() == "" and opened.model.rowCount() == all_shown


def test_brush_below_a_day_writes_minutes_and_the_gallery_agrees(opened, qtbot) -> None:
    tlw = _timeline(opened, qtbot)
    canvas = tlw.canvas
    canvas.set_view(_ts("2024-05-03T06:00:00"), _ts("2024-05-03T18:00:00"))
    assert (canvas.hist.unit, canvas.hist.step) in {("minute", 5), ("minute", 15)}
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=_x(canvas, _ts("2024-05-03T12:00:30")))
    start, end = canvas.brush
    assert start <= _ts("2024-05-03T12:00:00") < end and end - start == canvas.hist.step * 60
    f = opened.gallery.filters
    assert f.date_from.text() == "2024-05-03 12:00"
    # IMG_0012 was taken at 12:00:00 local time (no zone): it is the one item of that bin.
    assert _names(opened) == {"IMG_0012.jpg"}
    assert browse.count(opened.case.ctx, f.filter()) == 1


def test_typing_dates_moves_the_brush(opened, qtbot) -> None:
    tlw = _timeline(opened, qtbot)
    f = opened.gallery.filters
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        qtbot.keyClicks(f.date_from, "2024-03")
        qtbot.keyClicks(f.date_to, "2024-03")
    assert tlw.canvas.brush == (_ts("2024-03-01T00:00:00"), _ts("2024-04-01T00:00:00"))
    assert _names(opened) == {"IMG_0001.jpg"}
    with qtbot.waitSignal(opened.gallery_refreshed, timeout=10_000):
        f.date_from.clear()
        f.date_to.clear()
    assert tlw.canvas.brush is None


def test_zoom_changes_the_bin_width_and_reset_restores_it(opened, qtbot) -> None:
    tlw = _timeline(opened, qtbot)
    canvas = tlw.canvas
    home = canvas.view
    x = canvas.x_of(_ts("2024-05-03T12:00:00"))
    widths = [canvas.hist.unit]
    for _ in range(40):
        _wheel(canvas, x, 1)
        if canvas.hist.unit != widths[-1]:
            widths.append(canvas.hist.unit)
    # From the whole case's weeks or months, through every finer unit, down to minutes.
    assert widths[0] in ("week", "month") and widths[-3:] == ["day", "hour", "minute"]
    assert widths == sorted(widths, key=timeline.UNITS.index)
    # Zooming keeps the time under the cursor in place.
    assert abs(canvas.t_of(x) - _ts("2024-05-03T12:00:00")) < 60
    assert canvas.view[1] - canvas.view[0] >= 20 * 60  # and stops at minutes
    assert "minute" in tlw.bin_label.text()
    # Dragging with the right button pans without changing the width.
    v0 = canvas.view[0]
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=QPoint(400, 50))
    qtbot.mouseMove(canvas, QPoint(300, 50))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=QPoint(300, 50))
    assert canvas.view[0] > v0 and canvas.hist.unit == "minute"
    tlw.reset.click()
    assert canvas.view == home and canvas.hist.unit == widths[0]
    _wheel(canvas, x, -20)  # zooming out far past the whole case goes to years
    assert canvas.hist.unit == "year"


def test_unzoned_times_are_marked_and_sources_counted(opened, qtbot) -> None:
    tlw = _timeline(opened, qtbot)
    pts = tlw.canvas.points
    totals = pts.source_totals()
    # Zone-less: the seven phone photos, two of the trip's and the no-fix GPS photo; the other
    # eight trip photos recorded an offset.
    assert totals["exif_local"] == 10 and totals["exif"] == 8
    assert totals["file"] == len(pts) - 18 - totals["video"]
    legend = [text for _, text in tlw.legend.entries]
    assert f"{timeline.SOURCE_LABELS['exif_local']} 10" in legend
    assert f"{timeline.SOURCE_LABELS['exif']} 8" in legend
    assert any(t.startswith(timeline.SOURCE_LABELS["file"]) for t in legend)
    # The bars of early May are hatched (zone unknown) and their tooltip says so.
    patterns = {b.style() for brushes, _ in tlw.canvas._bars for b in brushes}
    assert Qt.BrushStyle.BDiagPattern in patterns
    b = tlw.canvas.bin_at(tlw.canvas.x_of(_ts("2024-05-03T00:00:00")))
    n = int(tlw.canvas.hist.totals()[b])
    text = tlw.canvas.bin_text(b)
    assert n >= 5 and f"{n} item(s)" in text and f"local (zone unknown): {n}" in text
    assert "UTC" in [w for w in tlw.findChildren(type(tlw.bin_label)) if "Axis" in w.text()][0].text()


def test_split_by_category_follows_edits(opened, qtbot, ids) -> None:
    tlw = _timeline(opened, qtbot)
    with qtbot.waitSignal(opened.timeline.points_ready, timeout=10_000):
        tlw.split.setCurrentIndex(tlw.split.findData("category"))
    assert tlw.canvas.points.split == "category"
    with qtbot.waitSignal(opened.timeline.points_ready, timeout=10_000):
        opened.apply_edit([ids["IMG_0010.jpg"], ids["IMG_0011.jpg"]], category=2, label="Set category 2")
    totals = tlw.canvas.points.group_totals()
    assert totals[next(g for g in totals if g.startswith("2 "))] == 2
    assert any(text.startswith("2 ") and text.endswith(" 2") for _, text in tlw.legend.entries)
    assert browse.count(opened.case.ctx, ItemFilter(category=2)) == 2


def test_log_scale_lifts_quiet_bins_beside_a_burst(qtbot) -> None:
    import numpy as np

    from gui.widgets.activity_timeline import ActivityTimeline

    burst, quiet = _ts("2024-05-01T10:00:00"), _ts("2024-05-20T10:00:00")
    seconds = np.sort(np.array([burst + i for i in range(1000)] + [quiet]))
    pts = timeline.TimePoints(seconds=seconds, source=np.zeros(1001, np.uint8), group=np.zeros(1001, np.uint8),
                              split="kind", groups=timeline.KIND_GROUPS, group_keys=timeline.KIND_GROUPS, undated=0)
    w = ActivityTimeline()
    qtbot.addWidget(w)
    w.resize(900, 260)
    w.show()
    w.set_points(pts)

    def heights() -> list[float]:
        return sorted(r.height() for _, rects in w.canvas._bars for r in rects)

    low, high = heights()
    assert low / high < 0.01
    w.log.setChecked(True)
    low_log, high_log = heights()
    assert abs(high_log - high) < 1 and low_log / high_log > 0.09  # log(2) / log(1001)
