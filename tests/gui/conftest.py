"""GUI test fixtures: offscreen Qt, the sample evidence, and a per-test copy of one
ingested, face-analysed, clustered and copy-grouped sample case."""
from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sample_evidence(tmp_path_factory) -> Path:
    from sample_cases.build import build_sample_evidence

    return build_sample_evidence(tmp_path_factory.mktemp("evidence") / "evidence")


@pytest.fixture(scope="session")
def template_case(tmp_path_factory, sample_evidence) -> Path:
    """The sample case ingested once per session with faces, clusters and copy groups."""
    from forensics.case import Case
    from forensics.ingest.pipeline import IngestOptions

    path = tmp_path_factory.mktemp("template") / "case"
    case = Case.create(path, name="Operation Larch", number="2024-0117", examiner="DC Test",
                       authority="Warrant 24/117 (test)")
    case.ingest([sample_evidence], IngestOptions(faces=True, workers=2))
    case.faces.cluster()
    case.copies.group()
    case.close()
    return path


@pytest.fixture
def case_dir(template_case, tmp_path) -> Path:
    """This test's own copy of the ingested sample case."""
    dst = tmp_path / "case"
    shutil.copytree(template_case, dst)
    return dst


@pytest.fixture
def window(qtbot, tmp_path):
    from PyQt6.QtCore import QSettings

    from gui.views.main_window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.resize(1200, 800)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.tasks.cancel_all()
    w.tasks.wait(30_000)
    w.close_case()


@pytest.fixture
def opened(window, case_dir, qtbot):
    """The main window with this test's sample case open and the gallery filled."""
    with qtbot.waitSignal(window.gallery_refreshed, timeout=10_000):
        window.open_case(case_dir, examiner="DC Test")
    return window


@pytest.fixture
def ids(opened) -> dict[str, int]:
    """File name -> item id for the catalogued files of the open case."""
    from forensics import browse

    case = opened.case
    rows = browse.item_rows(case.ctx, browse.item_ids(case.ctx, browse.ItemFilter(kinds=("image", "video", "other"))))
    return {r["name"]: r["id"] for r in rows}
