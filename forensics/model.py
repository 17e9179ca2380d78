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


_REPR_RE = None


def describe_error(exc: BaseException) -> str:
    """`Type: message` for people and the record. Object reprs and memory addresses that
    libraries put in messages (`<PIL.Image ... at 0x7f..>`) are reduced to the type name:
    they change from run to run and tell an examiner nothing."""
    import re

    global _REPR_RE
    if _REPR_RE is None:
        _REPR_RE = (re.compile(r"<((?:[\w.]|<locals>)+)[^<>]*? at 0x[0-9A-Fa-f]+>"), re.compile(r"\s*(?:at )?0x[0-9A-Fa-f]{6,}"))
    msg = _REPR_RE[0].sub(lambda m: f"<{m.group(1).rsplit('.', 1)[-1]}>", str(exc))
    msg = _REPR_RE[1].sub("", msg).strip()
    name = type(exc).__name__
    return f"{name}: {msg}" if msg else name


def error_message(exc: BaseException) -> str:
    """The message of `exc` alone, reduced as in `describe_error`."""
    text = describe_error(exc)
    return text.split(": ", 1)[1] if ": " in text else text
