"""Typed ids and small records that cross the core/GUI boundary."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

ItemId = NewType("ItemId", int)
SourceId = NewType("SourceId", int)
FaceId = NewType("FaceId", int)
TrackId = NewType("TrackId", int)
PersonId = NewType("PersonId", int)


@dataclass(frozen=True)
class Progress:
    """What a long operation reports: done of total units, with rate and ETA."""

    done: int
    total: int
    failed: int = 0
    rate: float = 0.0  # units per second
    eta: float | None = None  # seconds
    message: str = ""


class Cancelled(Exception):
    """A long operation stopped because its cancel flag was set; committed work is kept."""


class CaseError(Exception):
    """A user-facing error about a case (bad argument, missing authority, ...)."""
