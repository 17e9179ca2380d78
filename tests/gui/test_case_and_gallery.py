"""Driving the real main window: create a case, ingest while the gallery grows, filter,
sort, select, categorise with keys, undo, and readable errors."""
from __future__ import annotations

from pathlib import Path

from qt_helpers import show_item
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from forensics import browse
from forensics.browse import ItemFilter


def _db_category(case, item_id):
    return case.store.scalar("SELECT category FROM items WHERE id = ?", (item_id,))


def _message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def test_new_case_dialog_requires_every_field(qtbot, tmp_path: Path) -> None:
    from gui.dialogs.new_case import NewCaseDialog

    dlg = NewCaseDialog(folder=str(tmp_path / "c"))
    qtbot.addWidget(dlg)
    dlg.name.setText("Op")
    dlg.number.setText("1")
    dlg.examiner.setText("Me")
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dlg.result()
    assert "legal authority" in dlg.message.text()
    dlg.authority.setText("Warrant 9")
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dlg.result() == 1
    assert dlg.values()["authority"] == "Warrant 9"


def test_create_case_and_ingest_fills_gallery_while_running(window, qtbot, tmp_path, sample_evidence) -> None:
    case = window.create_case(str(tmp_path / "new"), name="Op Test", number="T-9", examiner="Tester",
                              authority="Order 77")
    assert case is not None
    title = window.windowTitle()
    assert "Op Test" in title and "T-9" in title and "Order 77" in title
    with qtbot.waitSignal(window.ingest_finished, timeout=120_000) as sig:
        # With face detection the run takes several seconds; committed batches must show
        # up in the gallery before it ends (review while processing).
        window.ingest([str(sample_evidence)], faces=True, workers=1)
        assert window.ingest_panel.isVisible()
        qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=60_000)
        assert not window.ingest_task.finished
    summary = sig.args[0]
    assert summary.added > 20 and not summary.cancelled and summary.faces > 0
    qtbot.waitUntil(lambda: window.model.rowCount() == browse.count(case.ctx), timeout=10_000)
    assert not window.ingest_panel.isVisible()
    assert f"{window.model.rowCount():,} items shown" in window.count_label.text()
    # The damaged files are in the gallery with their errors recorded, not lost.
    window.gallery.filters.errors.setCurrentIndex(window.gallery.filters.errors.findData(True))
    qtbot.waitUntil(lambda: 0 < window.model.rowCount() < browse.count(case.ctx), timeout=10_000)
    names = {window.model.row_data(r)["name"] for r in range(window.model.rowCount())}
    assert "truncated.jpg" in names


def test_filters_and_sort(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    f = w.gallery.filters
    assert w.model.rowCount() == browse.count(case.ctx)
    f.videos.setChecked(False)
    qtbot.waitUntil(lambda: all(w.model.row_data(r)["kind"] == "image" for r in range(w.model.rowCount())), timeout=5000)
    assert w.model.ids() == browse.item_ids(case.ctx, ItemFilter(kinds=("image",)), "id")  # default: order added
    f.videos.setChecked(True)
    f.faces.setCurrentIndex(f.faces.findData(True))
    qtbot.waitUntil(lambda: set(w.model.ids()) == set(browse.item_ids(case.ctx, ItemFilter(has_faces=True))), timeout=5000)
    assert ids["IMG_0001.jpg"] in w.model.ids() and ids["IMG_0010.jpg"] not in w.model.ids()
    f.faces.setCurrentIndex(0)
    f.search.setText("hopper")
    qtbot.waitUntil(lambda: sorted(w.model.ids()) == sorted([ids["hopper_copy.jpg"], ids["hopper_small.jpg"]]), timeout=5000)
    f.search.setText("")
    f.camera.setCurrentIndex(f.camera.findData("SM-G991B"))
    qtbot.waitUntil(lambda: w.model.rowCount() == 6, timeout=5000)
    f.camera.setCurrentIndex(0)
    f.sort.setCurrentIndex(f.sort.findData("size"))
    f.descending.setChecked(True)
    qtbot.waitUntil(lambda: w.model.ids() == browse.item_ids(case.ctx, ItemFilter(), "size", True), timeout=5000)
    f.collapse.setChecked(True)
    qtbot.waitUntil(lambda: ids["hopper_copy.jpg"] not in w.model.ids() or ids["IMG_0002.jpg"] not in w.model.ids(),
                    timeout=5000)


def test_categorise_tag_bookmark_with_keys_and_undo(opened, ids, qtbot, monkeypatch) -> None:
    w, case = opened, opened.case
    a, b = ids["IMG_0010.jpg"], ids["IMG_0011.jpg"]
    w.gallery.select_ids([a, b])
    assert w.gallery.selected_ids() == sorted([a, b], key=w.model.row_of)
    assert "2 selected" in w.selection_label.text()
    w.gallery.list.setFocus()
    with qtbot.waitSignal(w.edit_done, timeout=5000):
        qtbot.keyClick(w.gallery.list, Qt.Key.Key_3)
    assert _db_category(case, a) == 3 and _db_category(case, b) == 3
    assert w.model.row_data(w.model.row_of(a))["category"] == 3  # the model row was refreshed
    with qtbot.waitSignal(w.edit_done, timeout=5000):
        qtbot.keyClick(w.gallery.list, Qt.Key.Key_B)
    assert case.item(a)["bookmarked"] and case.item(b)["bookmarked"]
    from PyQt6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("weapon", True)))
    with qtbot.waitSignal(w.edit_done, timeout=5000):
        qtbot.keyClick(w.gallery.list, Qt.Key.Key_T)
    assert case.item(a)["tags"] == ["weapon"]
    actions = [e.action for e in case.audit_entries("item.")]
    assert actions[-3:] == ["item.tag", "item.tag", "item.tag"]
    # Ctrl+Z undoes the last action only (the tag), then the bookmark, then the category.
    for check in (lambda: case.item(a)["tags"] == [], lambda: not case.item(a)["bookmarked"],
                  lambda: _db_category(case, a) is None):
        with qtbot.waitSignal(w.edit_done, timeout=5000):
            qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert check()
    assert _db_category(case, b) is None
    assert case.audit_entries("item.undo")
    assert w.model.row_data(w.model.row_of(a))["category"] is None


def test_categorise_whole_copy_group(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    copy = ids["hopper_copy.jpg"]
    group = case.copies.group_members([copy])
    assert len(group) >= 2, "the sample case has a binary copy of IMG_0002.jpg"
    w.whole_group_action.setChecked(True)
    w.gallery.select_ids([copy])
    w.gallery.list.setFocus()
    with qtbot.waitSignal(w.edit_done, timeout=5000):
        qtbot.keyClick(w.gallery.list, Qt.Key.Key_1)
    assert all(_db_category(case, i) == 1 for i in group)


def test_space_previews_and_arrows_move(opened, ids, qtbot) -> None:
    w = opened
    first = w.model.id_at(0)
    w.gallery.select_ids([first])
    w.gallery.list.setFocus()
    with qtbot.waitSignal(w.item_view.loaded, timeout=10_000):
        qtbot.keyClick(w.gallery.list, Qt.Key.Key_Space)
    assert w.tabs.currentWidget() is w.item_view and w.item_view.item_id == first
    with qtbot.waitSignal(w.item_view.loaded, timeout=10_000):
        qtbot.keyClick(w.item_view, Qt.Key.Key_Right)
    assert w.item_view.item_id == w.model.id_at(1)
    assert w.gallery.current_id() == w.model.id_at(1)
    qtbot.keyClick(w.item_view, Qt.Key.Key_Escape)
    assert w.tabs.currentWidget() is w.gallery


def test_errors_show_as_readable_messages(window, qtbot, tmp_path) -> None:
    assert window.open_case(tmp_path) is None  # not a case folder
    boxes = _message_boxes()
    assert boxes and "not a case folder" in boxes[-1].text()
    assert "Traceback" not in boxes[-1].text()
    for b in boxes:
        b.close()
    assert window.create_case(str(tmp_path / "x"), name="n", number="1", examiner="e", authority="  ") is None
    assert "authority" in _message_boxes()[-1].text()


def test_exception_hook_turns_a_crash_into_a_message(qtbot) -> None:
    import sys
    import threading

    from gui.app import install_exception_hook

    old, old_thread = sys.excepthook, threading.excepthook
    relay = install_exception_hook()
    try:
        try:
            raise ValueError("boom in a slot")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: relay.last is not None and "boom in a slot" in str(relay.last), timeout=3000)
        assert any("boom in a slot" in b.text() for b in _message_boxes())
    finally:
        sys.excepthook, threading.excepthook = old, old_thread
        for b in _message_boxes():
            b.close()


def test_ingest_cancel_keeps_committed_items(window, qtbot, tmp_path, sample_evidence) -> None:
    case = window.create_case(str(tmp_path / "c"), name="Op C", number="C-1", examiner="Tester", authority="Order 1")
    with qtbot.waitSignal(window.ingest_finished, timeout=120_000) as sig:
        window.ingest([str(sample_evidence)], faces=True, workers=1)
        qtbot.waitUntil(lambda: "files" in window.ingest_panel.rate.text() and "ETA" in window.ingest_panel.rate.text(),
                        timeout=60_000)
        qtbot.mouseClick(window.ingest_panel.cancel, Qt.MouseButton.LeftButton)
        assert "cancelling" in window.ingest_panel.rate.text()
    summary = sig.args[0]
    assert summary is None or summary.cancelled
    kept = browse.count(case.ctx, ItemFilter(kinds=("image", "video", "other")))
    qtbot.waitUntil(lambda: window.model.rowCount() == browse.count(case.ctx), timeout=10_000)
    # Running it again finishes the job without duplicates.
    with qtbot.waitSignal(window.ingest_finished, timeout=120_000) as sig:
        window.ingest([str(sample_evidence)], faces=False, workers=1)
    again = sig.args[0]
    assert again.skipped == kept and kept < again.found  # the cancelled run stopped early
    assert browse.count(case.ctx, ItemFilter(kinds=("image", "video", "other"))) == again.found


def test_thumbnail_size_slider_resizes_cells(opened, qtbot) -> None:
    w = opened
    lst = w.gallery.list
    qtbot.waitUntil(lambda: lst.visualRect(w.model.index(0)).width() > 0, timeout=5000)
    before = lst.visualRect(w.model.index(0)).width()
    w.gallery.filters.size.setValue(96)
    qtbot.waitUntil(lambda: lst.visualRect(w.model.index(0)).width() < before, timeout=5000)
    assert w.thumbs.size == 96
    qtbot.waitUntil(lambda: w.thumbs.cached_bytes() > 0, timeout=10_000)  # reloaded at the new size


def test_item_view_save_edits_category_tags_note(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    item = ids["IMG_0012.jpg"]
    show_item(w, qtbot, item)
    v = w.item_view
    v.category.setCurrentIndex(v.category.findData(5))
    v.tags.setText("car, plate")
    v.note.setText("seen at 10:02")
    v.bookmark.setChecked(True)
    with qtbot.waitSignal(w.edit_done, timeout=5000):
        v._save()
    it = case.item(item)
    assert (it["category"], it["tags"], it["note"], it["bookmarked"]) == (5, ["car", "plate"], "seen at 10:02", True)
    with qtbot.waitSignal(w.edit_done, timeout=5000):
        w.undo()
    assert case.item(item)["category"] is None and case.item(item)["tags"] == []


def test_analyse_menu_jobs_and_recent_cases(opened, qtbot) -> None:
    w, case = opened, opened.case
    before = len(case.audit_entries("copies.group"))
    w.group_copies()
    qtbot.waitUntil(lambda: len(case.audit_entries("copies.group")) > before, timeout=60_000)
    before = len(case.audit_entries("faces.cluster"))
    w.cluster_faces()
    qtbot.waitUntil(lambda: len(case.audit_entries("faces.cluster")) > before, timeout=60_000)
    assert str(case.path.resolve()) in w.recent()
    w._fill_recent()
    assert any(str(case.path.resolve()) == a.text() for a in w.recent_menu.actions())


def test_close_case_then_open_another(opened, case_dir, qtbot, tmp_path) -> None:
    w = opened
    w.close_case()
    assert w.case is None and w.model is None and "No case open" in w.centralWidget().findChild(
        type(w.count_label)).text()
    w.categorise(1)  # no case: nothing happens, nothing raises
    assert not w.case_actions[0].isEnabled()
    with qtbot.waitSignal(w.gallery_refreshed, timeout=10_000):
        w.open_case(case_dir, examiner="DC Test")
    assert w.model.rowCount() > 0 and w.case_actions[0].isEnabled()
