"""What a report reads: the case context and the services whose results it states."""
from __future__ import annotations

from dataclasses import dataclass

from forensics.context import CaseContext
from forensics.copies.service import CopyService
from forensics.faces.service import FaceService
from forensics.hashsets.service import HashSetService


@dataclass(frozen=True)
class ReportSources:
    ctx: CaseContext
    faces: FaceService
    copies: CopyService
    hashsets: HashSetService
