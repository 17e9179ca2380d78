"""The activity timeline: when the items of a filter were made, as a histogram whose bins
follow the visible range (years down to minutes), split by kind or by category, with the
source of every time counted apart.

Each item's time is the one the gallery filters and sorts on (forensics.browse): the
recorded capture time (EXIF, or a video's creation time), else the file's modification
time. A capture time recorded without a zone (most EXIF) cannot be placed on a UTC axis;
it is shown at its local wall-clock value and counted as its own source, so a view can
mark it. The axis is therefore UTC for every time with a known zone.

One SQL pass per filter gives `TimePoints`, compact numpy arrays sorted by time; every
redraw (zoom, pan, brush) bins them with a few vectorised calls, fast at 100,000 items.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from forensics.browse import ItemFilter, filter_sql
from forensics.context import CaseContext

# Where an item's time came from. The order is the order of the `source` codes.
SOURCES = ("exif", "exif_local", "video", "file")
SOURCE_LABELS = {
    "exif": "EXIF capture time",
    "exif_local": "EXIF capture time, local (zone unknown)",
    "video": "video creation time",
    "file": "file modified time (no capture time)",
}
SPLITS = ("kind", "category")
KIND_GROUPS = ("image", "video", "other")
UNITS = ("year", "month", "week", "day", "hour", "minute")

# The instant browse filters on; the source mirrors which of its terms answered. A recorded
# time with no instant (taken_utc NULL: it could not be read) that SQLite can still parse
# is counted as zone unknown, since nothing vouches for its zone.
_SECONDS = "CAST(strftime('%s', COALESCE(i.taken_utc, i.taken_time, i.mtime_utc)) AS INTEGER)"
_SOURCE = ("CASE WHEN i.taken_utc IS NULL AND i.taken_time IS NULL THEN 3 WHEN i.kind = 'video' THEN 2"
           " WHEN i.taken_utc IS NULL OR i.taken_zone = 'local-unknown' THEN 1 ELSE 0 END")
# Group codes fit 7 bits: three kinds, or categories 0-99 shifted by one (0 = none).
_GROUP = {"kind": "CASE i.kind WHEN 'image' THEN 0 WHEN 'video' THEN 1 ELSE 2 END",
          "category": "COALESCE(i.category, -1) + 1"}
# One integer per item (seconds * 512 + source * 128 + group), sent as one text: building
# Python rows is what would cost most at 100,000 items; a NULL time drops out.
_PACK = 512

# Bin widths from fine to coarse: (unit, step, typical seconds).
LADDER = (("minute", 1, 60), ("minute", 5, 300), ("minute", 15, 900), ("minute", 30, 1800),
          ("hour", 1, 3600), ("hour", 3, 10800), ("hour", 6, 21600), ("hour", 12, 43200),
          ("day", 1, 86400), ("week", 1, 604800), ("month", 1, 2629746), ("month", 3, 7889238),
          ("year", 1, 31556952), ("year", 2, 63113904), ("year", 5, 157784760), ("year", 10, 315569520),
          ("year", 25, 788923800), ("year", 100, 3155695200))
_FIXED = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_MONDAY = 4 * 86400  # weeks start on Monday; 1 January 1970 was a Thursday


@dataclass(frozen=True)
class TimePoints:
    """The dated items of one filter, sorted by time. `seconds` are POSIX seconds on the
    axis (UTC; zone-unknown local times at their wall-clock value); `source` indexes
    SOURCES and `group` indexes `groups` (the split's labels; `group_keys` are the kinds,
    or the category ids with None for uncategorised)."""

    seconds: np.ndarray
    source: np.ndarray
    group: np.ndarray
    split: str
    groups: tuple[str, ...]
    group_keys: tuple
    undated: int  # matching items with no readable time

    def __len__(self) -> int:
        return len(self.seconds)

    def span(self) -> tuple[int, int] | None:
        """The first and last time, or None when nothing is dated."""
        return (int(self.seconds[0]), int(self.seconds[-1])) if len(self.seconds) else None

    def source_totals(self) -> dict[str, int]:
        """How many items take their time from each source."""
        counts = np.bincount(self.source, minlength=len(SOURCES))
        return {s: int(counts[i]) for i, s in enumerate(SOURCES)}

    def group_totals(self) -> dict[str, int]:
        counts = np.bincount(self.group, minlength=len(self.groups))
        return {g: int(counts[i]) for i, g in enumerate(self.groups)}


@dataclass(frozen=True)
class Histogram:
    """Counts per bin: `counts[bin, group, source]`; bin b covers [edges[b], edges[b + 1])."""

    unit: str
    step: int
    edges: np.ndarray  # int64 seconds, one more than there are bins
    counts: np.ndarray  # int64 [bins, groups, sources]
    groups: tuple[str, ...]

    @property
    def width_label(self) -> str:
        return f"{self.step} {self.unit}{'s' if self.step > 1 else ''}"

    def totals(self) -> np.ndarray:
        """Items per bin."""
        return self.counts.sum(axis=(1, 2))

    def by_group(self) -> np.ndarray:
        return self.counts.sum(axis=2)

    def by_source(self) -> np.ndarray:
        return self.counts.sum(axis=1)


def without_dates(filters: ItemFilter) -> ItemFilter:
    """The filter a timeline shows: everything but its own date range, so a brushed range
    stays in context."""
    return replace(filters, date_from=None, date_to=None)


def time_points(ctx: CaseContext, filters: ItemFilter = ItemFilter(), split: str = "kind") -> TimePoints:
    """The time of every item matching `filters` (one SQL pass), split by "kind" or "category"."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    where, args = filter_sql(filters)
    sql = (f"SELECT group_concat(({_SECONDS}) * {_PACK} + ({_SOURCE}) * 128 + ({_GROUP[split]}), ','), COUNT(*)"
           " FROM items i" + where)
    text, total = ctx.store.read.execute(sql, args).fetchone()
    packed = np.sort(np.array(text.split(","), dtype=np.int64)) if text else np.zeros(0, dtype=np.int64)
    seconds, rest = np.divmod(packed, _PACK)  # floor division: times before 1970 unpack too
    code = rest % 128
    if split == "kind":
        keys: tuple = KIND_GROUPS
        labels = KIND_GROUPS
        group = code.astype(np.uint8)
    else:
        cats = ctx.catalogue.categories()
        present = {int(c) - 1 for c in np.unique(code) if c > 0}
        ids = sorted(set(cats) | present)
        keys = (None, *ids)
        labels = ("uncategorised", *(f"{c} {cats.get(c, '')}".strip() for c in ids))
        lut = np.zeros(129, dtype=np.uint8)
        for n, c in enumerate(ids, start=1):
            lut[c + 1] = n
        group = lut[code]
    return TimePoints(seconds=seconds, source=(rest // 128).astype(np.uint8), group=group, split=split,
                      groups=tuple(labels), group_keys=keys, undated=int(total) - len(packed))


def _months(seconds: int) -> int:
    """Months since January 1970 of a POSIX time (floor)."""
    return int(np.datetime64(int(seconds), "s").astype("datetime64[M]").astype(np.int64))


def _month_start(months: np.ndarray) -> np.ndarray:
    return months.astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)


def choose_width(start: float, end: float, max_bins: int) -> tuple[str, int]:
    """The finest bin width (unit, step) that shows [start, end) in at most `max_bins` bins."""
    span = max(1.0, float(end) - float(start))
    for unit, step, secs in LADDER:
        if span / secs <= max_bins:
            return unit, step
    return LADDER[-1][0], LADDER[-1][1]


def bin_edges(start: float, end: float, unit: str, step: int) -> np.ndarray:
    """Calendar-aligned edges (UTC) covering [start, end): months and years follow the
    calendar, minutes, hours and days are fixed widths aligned to the day, weeks start on Monday."""
    if unit in _FIXED:
        w = _FIXED[unit] * step
        off = _MONDAY if unit == "week" else 0
        first = int(np.floor((start - off) / w)) * w + off
        last = int(np.ceil((end - off) / w)) * w + off
        return np.arange(first, max(last, first + w) + 1, w, dtype=np.int64)
    per = 12 * step if unit == "year" else step
    first = _months(int(np.floor(start))) // per * per
    last = -(-(_months(int(np.ceil(end)) - 1) + 1) // per) * per
    return _month_start(np.arange(first, max(last, first + per) + 1, per, dtype=np.int64))


def histogram(points: TimePoints, start: float, end: float, max_bins: int = 200) -> Histogram:
    """Bin the points that fall in [start, end) at the finest width that fits `max_bins`."""
    unit, step = choose_width(start, end, max_bins)
    edges = bin_edges(start, end, unit, step)
    n_bins, n_groups, n_sources = len(edges) - 1, len(points.groups), len(SOURCES)
    sec = points.seconds
    lo, hi = np.searchsorted(sec, edges[0], "left"), np.searchsorted(sec, edges[-1], "left")
    b = np.searchsorted(edges, sec[lo:hi], "right") - 1
    flat = (b * n_groups + points.group[lo:hi]) * n_sources + points.source[lo:hi]
    counts = np.bincount(flat, minlength=n_bins * n_groups * n_sources).reshape(n_bins, n_groups, n_sources)
    return Histogram(unit=unit, step=step, edges=edges, counts=counts, groups=points.groups)


def snap(edges: np.ndarray, start: float, end: float) -> tuple[int, int]:
    """[start, end) widened to whole bins of `edges` (the brush selects whole bins)."""
    a, b = min(start, end), max(start, end)
    i = int(np.clip(np.searchsorted(edges, a, "right") - 1, 0, len(edges) - 2))
    j = int(np.clip(np.searchsorted(edges, b, "left"), i + 1, len(edges) - 1))
    return int(edges[i]), int(edges[j])


# -- the filter's date fields <-> a range on the axis --------------------------------------
def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(0, timezone.utc) + timedelta(seconds=int(seconds))


def range_to_dates(start: int, end: int) -> tuple[str, str]:
    """The filter texts (date_from, date_to) selecting [start, end) on the axis: a bound on
    midnight is a date (date_to inclusive, "through that day"), any other a minute
    "YYYY-MM-DDTHH:MM" (date_to then excludes that minute, as the filter compares text)."""
    a, b = _utc(start), _utc(end)
    frm = a.strftime("%Y-%m-%d") if int(start) % 86400 == 0 else a.strftime("%Y-%m-%dT%H:%M")
    to = (b - timedelta(days=1)).strftime("%Y-%m-%d") if int(end) % 86400 == 0 else b.strftime("%Y-%m-%dT%H:%M")
    return frm, to


def _parse(text: str, upper: bool) -> int:
    """Seconds of a filter date text; `upper` gives the end of what it names."""
    t = text.strip().replace(" ", "T")
    if len(t) == 4:
        y = int(t)
        return int(datetime(y + 1 if upper else y, 1, 1, tzinfo=timezone.utc).timestamp())
    if len(t) == 7 or (upper and t.endswith("-99")):  # browse's "through the end of it": YYYY-MM-99, YYYY-12-99
        y, m = int(t[:4]), int(t[5:7])
        if not upper:
            return int(datetime(y, m, 1, tzinfo=timezone.utc).timestamp())
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return int(datetime(y, m, 1, tzinfo=timezone.utc).timestamp())
    d = datetime.fromisoformat(t[:10] if len(t) == 10 else t).replace(tzinfo=timezone.utc)
    if len(t) == 10 and upper:
        d += timedelta(days=1)
    return int(d.timestamp())


def dates_to_range(date_from: str | None, date_to: str | None) -> tuple[int | None, int | None]:
    """The axis range [start, end) an ItemFilter's date_from/date_to select (None: open);
    the inverse of range_to_dates. Unreadable text gives None."""
    out: list[int | None] = []
    for text, upper in ((date_from, False), (date_to, True)):
        try:
            out.append(_parse(text, upper) if text else None)
        except (ValueError, OverflowError):
            out.append(None)
    return out[0], out[1]
