"""The workbench names who acts (asked on open, remembered, shown by the authority) and
audits the face-search threshold and count the examiner settled on."""
from __future__ import annotations

import getpass

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication


def _answer(name: str | None) -> None:
    """Fill in and accept (or cancel) the examiner dialog once it is shown."""
    from gui.dialogs.examiner import ExaminerDialog

    def act() -> None:
        dlg = next((w for w in QApplication.topLevelWidgets() if isinstance(w, ExaminerDialog) and w.isVisible()), None)
        if dlg is None:
            QTimer.singleShot(20, act)
            return
        if name is None:
            dlg.reject()
        else:
            dlg.name.setText(name)
            dlg.buttons.accepted.emit()

    QTimer.singleShot(20, act)


def test_opening_a_case_asks_who_is_acting_and_remembers_it(window, case_dir, qtbot, examiner_config):
    from forensics.examiners import remembered_examiner

    assert remembered_examiner() is None
    _answer(None)
    assert window.open_case(case_dir) is None and window.case is None  # cancelled: not opened
    _answer("DS Jane Roe")
    with qtbot.waitSignal(window.gallery_refreshed, timeout=10_000):
        case = window.open_case(case_dir)
    assert case.examiner == "DS Jane Roe" and remembered_examiner() == "DS Jane Roe"
    assert "Acting: DS Jane Roe" in window.authority_label.text()
    assert "Authority: Warrant 24/117" in window.authority_label.text()
    switch = case.audit_entries("examiner.switch")[-1]
    assert switch.params == {"from": "DC Test", "to": "DS Jane Roe"} and switch.examiner == "DS Jane Roe"
    case.tag_items([case.items(limit=1)[0]["id"]], bookmarked=True)
    assert case.audit_entries()[-1].examiner == "DS Jane Roe"
    window.close_case()
    # next time the remembered name is offered, not the OS user or the case creator
    from gui.dialogs.examiner import ExaminerDialog

    seen: list[str] = []

    def check() -> None:
        dlg = next((w for w in QApplication.topLevelWidgets() if isinstance(w, ExaminerDialog) and w.isVisible()), None)
        if dlg is None:
            QTimer.singleShot(20, check)
            return
        seen.append(dlg.name.text())
        dlg.buttons.accepted.emit()

    QTimer.singleShot(20, check)
    with qtbot.waitSignal(window.gallery_refreshed, timeout=10_000):
        window.open_case(case_dir)
    assert seen == ["DS Jane Roe"] and window.case.examiner == "DS Jane Roe" != getpass.getuser()


def test_face_search_audits_the_threshold_the_examiner_settled_on(opened, ids, qtbot):
    w, case = opened, opened.case
    face = max(case.faces.faces_of_item(ids["IMG_0001.jpg"]), key=lambda f: f["size"])
    with qtbot.waitSignal(w.face_search.results_shown, timeout=30_000):
        w.find_person(face["id"])
    fs = w.face_search
    cand = case.audit_entries("faces.search.candidates")[-1]
    assert cand.params["threshold"] == 0.8 and cand.params["face_id"] == face["id"]

    def settled() -> list:
        return [e for e in case.audit_entries("faces.search") if e.params.get("settled")]

    qtbot.waitUntil(lambda: len(settled()) == 1, timeout=10_000)  # the first view, untouched
    assert settled()[-1].params["threshold"] == 0.6
    for t in (0.7, 0.5, 0.45):  # dragging: nothing recorded until it rests
        fs.set_threshold(t)
    assert len(settled()) == 1
    qtbot.waitUntil(lambda: len(settled()) == 2, timeout=10_000)
    entry = settled()[-1]
    assert entry.params["threshold"] == 0.45 and entry.params["face_id"] == face["id"]
    assert entry.result["matches"] == fs.model.rowCount()
    assert entry.result["photos"] + entry.result["video_tracks"] == fs.model.rowCount()
    # a view left pending when the case closes is still recorded
    fs.set_threshold(0.55)
    w.close_case()
    with __import__("forensics.case", fromlist=["Case"]).Case.open(case.path) as c:
        last = [e for e in c.audit_entries("faces.search") if e.params.get("settled")][-1]
        assert last.params["threshold"] == 0.55
