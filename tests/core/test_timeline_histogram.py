"""forensics.timeline: capture-time histograms over a real ingested case (EXIF with and
without a zone, a video's creation time, file times), zoom-dependent bins, and the
filter's date texts <-> an axis range."""
from __future__ import annotations

import io
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics import browse, timeline
from forensics.browse import ItemFilter
from forensics.case import Case
from forensics.ingest.records import IngestOptions


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def _jpeg(path: Path, colour: tuple, when: str | None, offset: str | None = None) -> None:
    ex = Image.Exif()
    if when:
        ifd = {0x9003: when}
        if offset:
            ifd[0x9011] = offset  # OffsetTimeOriginal
        ex[0x8769] = ifd
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG", exif=ex.tobytes())
    path.write_bytes(buf.getvalue())


def _video(path: Path, created: str) -> None:
    import av

    with av.open(str(path), "w") as out:
        out.metadata["creation_time"] = created
        st = out.add_stream("libx264", rate=10)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            for pkt in st.encode(av.VideoFrame.from_image(Image.new("RGB", (64, 48), (i * 40, 90, 20)))):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Case:
    """Two zone-less EXIF photos on 2024-05-01, one with an offset (+02:00, so 08:30 UTC) the
    same morning, a video created 2024-05-03 12:00 UTC, and two PNGs with no capture time
    whose file times are in 2023."""
    root = tmp_path_factory.mktemp("timeline")
    ev = root / "evidence"
    ev.mkdir()
    _jpeg(ev / "local1.jpg", (200, 10, 10), "2024:05:01 09:15:00")
    _jpeg(ev / "local2.jpg", (10, 200, 10), "2024:05:01 09:40:00")
    _jpeg(ev / "zoned.jpg", (10, 10, 200), "2024:05:01 10:30:00", "+02:00")
    _video(ev / "clip.mp4", "2024-05-03T12:00:00.000000Z")
    for n, when in enumerate(("2023-02-10T08:00:00", "2023-11-20T18:00:00")):
        Image.new("RGB", (32, 32), (n * 90, 40, 40)).save(ev / f"plain{n}.png")
        os.utime(ev / f"plain{n}.png", (_ts(when), _ts(when)))
    c = Case.create(root / "case", name="Timeline", number="TL-1", examiner="Tester", authority="Warrant TL")
    c.ingest([ev], IngestOptions(workers=1, faces=False))
    yield c
    c.close()


def _ids(case: Case) -> dict[str, int]:
    rows = browse.item_rows(case.ctx, browse.item_ids(case.ctx, ItemFilter(kinds=("image", "video", "other"))))
    return {r["name"]: r["id"] for r in rows}


def test_sources_and_kinds_are_counted_apart(case: Case) -> None:
    pts = timeline.time_points(case.ctx)
    assert len(pts) == 6 and pts.undated == 0
    assert pts.source_totals() == {"exif": 1, "exif_local": 2, "video": 1, "file": 2}
    assert pts.group_totals() == {"image": 5, "video": 1, "other": 0}
    assert list(pts.seconds) == sorted(pts.seconds)
    # Zone-less times sit at their wall-clock value; the zoned one at its UTC instant.
    local = pts.seconds[pts.source == timeline.SOURCES.index("exif_local")]
    assert sorted(local) == [_ts("2024-05-01T09:15:00"), _ts("2024-05-01T09:40:00")]
    assert pts.seconds[pts.source == timeline.SOURCES.index("exif")][0] == _ts("2024-05-01T08:30:00")
    assert pts.seconds[pts.source == timeline.SOURCES.index("video")][0] == _ts("2024-05-03T12:00:00")


def test_bins_follow_the_visible_range(case: Case) -> None:
    pts = timeline.time_points(case.ctx)
    lo, hi = pts.span()
    whole = timeline.histogram(pts, lo, hi + 1, max_bins=60)
    assert whole.unit == "month" and whole.step == 1
    assert whole.totals().sum() == 6
    # Monthly bins follow the calendar: each edge is the first of a month.
    for e in whole.edges:
        assert datetime.fromtimestamp(int(e), timezone.utc).day == 1
    may = int(np.searchsorted(whole.edges, _ts("2024-05-01T00:00:00")))
    assert whole.by_source()[may].tolist() == [1, 2, 1, 0]
    day = timeline.histogram(pts, _ts("2024-05-01T00:00:00"), _ts("2024-05-04T00:00:00"), max_bins=100)
    assert (day.unit, day.step) == ("hour", 1)
    nine = int(np.searchsorted(day.edges, _ts("2024-05-01T09:00:00")))
    assert day.by_source()[nine].tolist() == [0, 2, 0, 0]
    assert day.by_group()[nine].tolist() == [2, 0, 0]
    minutes = timeline.histogram(pts, _ts("2024-05-01T09:00:00"), _ts("2024-05-01T10:00:00"), max_bins=100)
    assert (minutes.unit, minutes.step) == ("minute", 1)
    assert minutes.totals().sum() == 2
    years = timeline.histogram(pts, _ts("2000-01-01T00:00:00"), _ts("2030-01-01T00:00:00"), max_bins=100)
    assert years.unit == "year"
    assert {datetime.fromtimestamp(int(e), timezone.utc).strftime("%m-%d") for e in years.edges} == {"01-01"}


def test_split_by_category(case: Case) -> None:
    ids = _ids(case)
    case.tag_items([ids["local1.jpg"], ids["clip.mp4"]], category=3)
    try:
        pts = timeline.time_points(case.ctx, split="category")
        totals = pts.group_totals()
        assert totals["uncategorised"] == 4
        assert totals[next(g for g in pts.groups if g.startswith("3 "))] == 2
        assert pts.group_keys[0] is None and 3 in pts.group_keys
    finally:
        case.tag_items([ids["local1.jpg"], ids["clip.mp4"]], clear_category=True)


def test_points_follow_the_filter_and_brushed_dates_select_the_same_items(case: Case) -> None:
    assert timeline.time_points(case.ctx, ItemFilter(kinds=("video",))).source_totals()["video"] == 1
    # A brush over the morning of 1 May (one-hour bins: 08:00-10:00) gives filter texts that
    # select exactly the items the histogram counts there.
    start, end = _ts("2024-05-01T08:00:00"), _ts("2024-05-01T10:00:00")
    frm, to = timeline.range_to_dates(start, end)
    assert (frm, to) == ("2024-05-01T08:00", "2024-05-01T10:00")
    shown = browse.item_ids(case.ctx, ItemFilter(date_from=frm, date_to=to))
    ids = _ids(case)
    assert sorted(shown) == sorted([ids["local1.jpg"], ids["local2.jpg"], ids["zoned.jpg"]])
    assert timeline.dates_to_range(frm, to) == (start, end)
    # Whole days read as dates, the end inclusive, and come back as the same range.
    days = (_ts("2024-05-01T00:00:00"), _ts("2024-05-04T00:00:00"))
    assert timeline.range_to_dates(*days) == ("2024-05-01", "2024-05-03")
    assert timeline.dates_to_range("2024-05-01", "2024-05-03") == days
    assert len(browse.item_ids(case.ctx, ItemFilter(date_from="2024-05-01", date_to="2024-05-03"))) == 4
    # What the filter panel passes for a year or a month ("through the end of it").
    assert timeline.dates_to_range("2023", "2023-12-99") == (_ts("2023-01-01T00:00:00"), _ts("2024-01-01T00:00:00"))
    assert timeline.dates_to_range("2023-02", "2023-02-99") == (_ts("2023-02-01T00:00:00"), _ts("2023-03-01T00:00:00"))
    assert timeline.dates_to_range("not a date", None) == (None, None)


def test_snap_selects_whole_bins() -> None:
    edges = np.arange(0, 1000, 100, dtype=np.int64)
    assert timeline.snap(edges, 150, 420) == (100, 500)
    assert timeline.snap(edges, 420, 150) == (100, 500)
    assert timeline.snap(edges, 150, 160) == (100, 200)


def test_unreadable_times_are_counted_as_undated(tmp_path: Path) -> None:
    c = Case.create(tmp_path / "case", name="T", number="T-2", examiner="Tester", authority="Warrant")
    try:
        with c.store.write() as w:
            w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/e', X'2F65', 'now', 'x')")
            w.execute("INSERT INTO items (kind, source_id, relpath, relpath_raw, ingested_utc, taken_time)"
                      " VALUES ('image', 1, 'a.jpg', X'61', 'now', '2023:13:45 99:00:00')")
            w.execute("INSERT INTO items (kind, source_id, relpath, relpath_raw, ingested_utc)"
                      " VALUES ('image', 1, 'b.jpg', X'62', 'now')")
        pts = timeline.time_points(c.ctx)
        assert len(pts) == 0 and pts.undated == 2 and pts.span() is None
        h = timeline.histogram(pts, 0, 86400 * 30)
        assert h.totals().sum() == 0
    finally:
        c.close()


def test_times_far_from_1970_bin_on_the_calendar() -> None:
    """FAT's 1980 floor, NTFS's 1601 epoch and a damaged clock's 2107 all land in year bins."""
    times = np.array([_ts("1601-01-01T00:00:00"), _ts("1980-01-01T00:00:00"), _ts("2107-12-31T23:59:00")])
    pts = timeline.TimePoints(seconds=times, source=np.full(3, 3, np.uint8), group=np.zeros(3, np.uint8),
                              split="kind", groups=timeline.KIND_GROUPS, group_keys=timeline.KIND_GROUPS, undated=0)
    h = timeline.histogram(pts, times[0], times[-1] + 1, max_bins=100)
    assert h.unit == "year" and h.totals().sum() == 3 and h.by_source()[:, 3].sum() == 3
    assert h.edges[0] <= times[0] and h.edges[-1] > times[-1]
