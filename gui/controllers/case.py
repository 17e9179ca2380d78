"""Opening and creating cases, and the recent-cases list."""
from __future__ import annotations

import os
from pathlib import Path

from PyQt6.QtCore import QObject, QSettings

from forensics.case import Case

MAX_RECENT = 8


class CaseController(QObject):
    """Creates and opens cases (errors propagate to the caller, which shows them) and
    remembers the folders opened."""

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings

    def create(self, path: str | os.PathLike, name: str, number: str, examiner: str, authority: str,
               description: str | None = None) -> Case:
        case = Case.create(path, name=name, number=number, examiner=examiner, authority=authority,
                           description=description)
        self.remember(case.path)
        return case

    def open(self, path: str | os.PathLike) -> Case:
        case = Case.open(path)
        self.remember(case.path)
        return case

    def recent(self) -> list[str]:
        value = self.settings.value("recent_cases", [])
        return [v for v in (value if isinstance(value, list) else [value]) if v]

    def remember(self, path: Path) -> None:
        p = str(Path(path).resolve())
        self.settings.setValue("recent_cases", ([p] + [r for r in self.recent() if r != p])[:MAX_RECENT])
