"""The one clock and the one time parser of the core.

Every time the case records (audit entries, ingest runs, file times, reports) is UTC
written as ISO 8601 with microseconds and a trailing Z, so stored times sort as text
and compare across machines.
"""
from __future__ import annotations

from datetime import datetime, timezone

UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> str:
    """Now, as the case stores times (UTC, microseconds, trailing Z)."""
    return datetime.now(timezone.utc).strftime(UTC_FORMAT)


def utc_from_timestamp(ts: float) -> str:
    """A POSIX timestamp (file mtime, ctime, atime) as the case stores times."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime(UTC_FORMAT)


def parse_time(text: str) -> datetime:
    """Parse a time the case stored or a user typed (ISO 8601: a date, a date and time, with
    'Z' or an offset). A time with a zone comes back aware; one without (a camera's local
    time) comes back naive, since guessing its zone would misstate the evidence."""
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(t)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from exc
