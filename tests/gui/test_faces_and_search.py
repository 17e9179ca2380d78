"""Item view with face boxes and video tracks, people (name, merge, split, remove),
face search with a live threshold, similar images, audit log and report export."""
from __future__ import annotations

from pathlib import Path

from qt_helpers import show_item
from PyQt6.QtCore import QPoint, Qt


def _persons(case) -> dict[int, dict]:
    return {r["id"]: dict(r) for r in case.store.query("SELECT id, kind, name FROM persons")}


def _face_person(case, face_id: int):
    return case.store.scalar("SELECT person_id FROM faces WHERE id = ?", (face_id,))


def test_item_view_draws_face_boxes(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    item = ids["IMG_0001.jpg"]
    show_item(w, qtbot, item)
    view = w.item_view
    db_faces = case.store.scalar("SELECT COUNT(*) FROM faces WHERE item_id = ?", (item,))
    assert db_faces >= 1
    assert len(view.image.faces) == db_faces
    assert view.image.image is not None
    for f in view.image.faces:
        r = view.image.face_rect(f)
        assert r.width() > 5 and view.image.rect().toRectF().contains(r)
    assert view.faces_list.count() == db_faces
    assert "SHA-256" in view.meta.toPlainText() and case.item(item)["sha256"] in view.meta.toPlainText()
    # Clicking a face and choosing "find this person" runs a face search.
    with qtbot.waitSignal(view.find_person, timeout=2000) as sig:
        view.faces_list.itemDoubleClicked.emit(view.faces_list.item(0))
    assert sig.args[0] == view.image.faces[0]["id"]


def test_video_timeline_click_jumps_to_the_track(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    video = ids["camera1_2024-05-01.mp4"]
    show_item(w, qtbot, video)
    view = w.item_view
    assert view.frames_model.rowCount() == len(case.frames(video)) > 0
    tracks = view.timeline.tracks
    assert tracks, "the sample video shows a face"
    rect, track = view.timeline._rects()[0]
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        qtbot.mouseClick(view.timeline, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    shown = view.detail["item"]
    assert shown["kind"] == "frame" and shown["parent_id"] == video
    assert abs(shown["frame_time"] - track["start"]) <= 1.0
    assert view.timeline.position == shown["frame_time"]


def test_face_search_results_and_live_threshold(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    faces = case.faces.faces_of_item(ids["IMG_0001.jpg"])
    face = max(faces, key=lambda f: f["size"])
    with qtbot.waitSignal(w.face_search.results_shown, timeout=30_000):
        w.find_person(face["id"])
    fs = w.face_search
    assert w.tabs.currentWidget() is fs
    shown = [fs.model.card(r).data for r in range(fs.model.rowCount())]
    items = {m["item_id"] for m in shown}
    assert ids["IMG_0003.heic"] in items, "the same photo as HEIC is the same person"
    assert ids["camera1_2024-05-01.mp4"] in items, "the video track of her face"
    video = next(m for m in shown if m["kind"] == "video")
    assert video["end"] >= video["start"] and "s" in fs.model.card(shown.index(video)).detail
    assert all(m["distance"] <= 0.6 for m in shown)
    # each card states its calibrated evidence, strongest first by default
    assert [m["log10_lr"] for m in shown] == sorted((m["log10_lr"] for m in shown), reverse=True)
    assert "LR 10^" in fs.model.card(0).detail and "verbal scale" in fs.status.toolTip()
    assert case.audit_entries("faces.search")[-1].params["face_id"] == face["id"]
    # The slider and the sort order act live, without a new search.
    searches = len(case.audit_entries("faces.search"))
    fs.set_threshold(0.3)
    tight = [fs.model.card(r).data for r in range(fs.model.rowCount())]
    assert len(tight) <= len(shown) and all(m["distance"] <= 0.3 for m in tight)
    fs.set_threshold(0.8)
    assert fs.model.rowCount() >= len(shown)
    fs.set_sort("Distance")
    loose = [fs.model.card(r).data["distance"] for r in range(fs.model.rowCount())]
    assert loose == sorted(loose)
    fs.set_sort("Strongest evidence (LR)")
    assert len(case.audit_entries("faces.search")) == searches
    # Opening a result shows that item.
    with qtbot.waitSignal(w.item_view.loaded, timeout=10_000):
        fs.results.doubleClicked.emit(fs.model.index(0))


def test_face_search_by_dropped_photo(opened, sample_evidence, qtbot) -> None:
    w = opened
    from PyQt6.QtCore import QMimeData, QPointF, QUrl
    from PyQt6.QtGui import QDropEvent

    photo = next(Path(sample_evidence).rglob("IMG_0001.jpg"))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.face_search.results_shown, timeout=60_000):
        w.face_search.results.dropEvent(drop)  # an outside photo dropped on the results panel
    assert w.face_search.model.rowCount() >= 2
    assert w.face_search.result["query"]["image"] == str(photo)
    # A photo without a face is a readable message, not a crash.
    blank = next(Path(sample_evidence).rglob("blank.png"))
    with qtbot.waitSignal(w.face_search.results_shown, timeout=60_000):
        w.face_search.search_file(str(blank))
    assert w.face_search.model.rowCount() == 0 and "no face" in w.face_search.status.text()


def test_people_name_merge_split_remove(opened, qtbot) -> None:
    w, case = opened, opened.case
    people = w.people
    with qtbot.waitSignal(people.refreshed, timeout=10_000):
        w.show_tab(people)
    clusters = case.faces.clusters()
    assert len(clusters) >= 2 and people.groups.count() == len(clusters) + len(case.faces.persons())
    # Largest first.
    sizes = [people.groups.item(r).data(Qt.ItemDataRole.UserRole + 20)["faces"] for r in range(people.groups.count())]
    assert sizes == sorted(sizes, reverse=True)
    big, other = clusters[0]["id"], clusters[1]["id"]
    other_faces = [r[0] for r in case.store.query("SELECT id FROM faces WHERE person_id = ?", (other,))]
    # Name a cluster: it becomes a person.
    people.groups.setCurrentRow(0)
    with qtbot.waitSignal(people.changed, timeout=10_000):
        people.name_selected("Eileen Collins")
    assert _persons(case)[big] == {"id": big, "kind": "person", "name": "Eileen Collins"}
    qtbot.waitUntil(lambda: people.groups.count() > 0, timeout=5000)
    # Merge: select both rows, merge into the current one.
    rows = {people.groups.item(r).data(Qt.ItemDataRole.UserRole + 20)["id"]: r for r in range(people.groups.count())}
    people.groups.clearSelection()
    people.groups.setCurrentRow(rows[big])
    people.groups.item(rows[other]).setSelected(True)
    assert set(people.selected_group_ids()) == {big, other}
    with qtbot.waitSignal(people.changed, timeout=10_000):
        people.merge_selected()
    assert all(_face_person(case, f) == big for f in other_faces)
    assert other not in _persons(case)
    # Split: select faces of the person on the right, move them to a new person.
    qtbot.waitUntil(lambda: people.current_group_id() == big and people.faces_model.rowCount() >= 2, timeout=10_000)
    first = people.faces_model.card(0).data["face_id"]
    people.faces.selectionModel().select(people.faces_model.index(0),
                                         people.faces.selectionModel().SelectionFlag.ClearAndSelect)
    before = set(_persons(case))
    with qtbot.waitSignal(people.changed, timeout=10_000):
        people.split_selected("Split person")
    new = set(_persons(case)) - before
    assert len(new) == 1
    new_id = new.pop()
    assert _face_person(case, first) == new_id and _persons(case)[new_id]["name"] == "Split person"
    # Remove a face from its person.
    qtbot.waitUntil(lambda: people.faces_model.rowCount() >= 1, timeout=10_000)
    qtbot.waitUntil(lambda: people.current_group_id() is not None, timeout=5000)
    pid = people.current_group_id()
    qtbot.waitUntil(lambda: people.faces_model.rowCount() > 0
                    and _face_person(case, people.faces_model.card(0).data["face_id"]) == pid, timeout=10_000)
    victim = people.faces_model.card(0).data["face_id"]
    people.faces.selectionModel().select(people.faces_model.index(0),
                                         people.faces.selectionModel().SelectionFlag.ClearAndSelect)
    with qtbot.waitSignal(people.changed, timeout=10_000):
        people.remove_selected()
    assert _face_person(case, victim) != pid
    actions = [e.action for e in case.audit_entries("persons.")]
    assert {"persons.create", "persons.merge", "persons.split", "persons.remove_face"} <= set(actions)


def test_people_drag_merge(opened, qtbot) -> None:
    w, case = opened, opened.case
    with qtbot.waitSignal(w.people.refreshed, timeout=10_000):
        w.people.refresh()
    clusters = case.faces.clusters()
    target, source = clusters[0]["id"], clusters[1]["id"]
    with qtbot.waitSignal(w.people.groups.merge_requested, timeout=2000) as sig:
        w.people.groups.merge_requested.emit(target, [source])
    assert sig.args == [target, [source]]
    with qtbot.waitSignal(w.people.changed, timeout=10_000):
        w.people.merge(target, [source])
    assert source not in _persons(case)


def test_similar_images(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    with qtbot.waitSignal(w.similar.results_shown, timeout=30_000):
        w.find_similar(ids["IMG_0002.jpg"])
    found = {w.similar.model.card(r).data["item_id"] for r in range(w.similar.model.rowCount())}
    assert {ids["hopper_copy.jpg"], ids["hopper_small.jpg"]} <= found
    assert ids["IMG_0001.jpg"] not in found
    assert case.audit_entries("copies.similar")


def test_audit_view_and_chain(opened, qtbot) -> None:
    w, case = opened, opened.case
    w.show_tab(w.audit)
    qtbot.waitUntil(lambda: w.audit.model.rowCount() == len(case.audit_entries()), timeout=5000)
    w.audit.verify()
    qtbot.waitUntil(lambda: "chain intact" in w.audit.chain.text(), timeout=5000)
    # Read only: no edit triggers.
    assert w.audit.table.editTriggers() == w.audit.table.EditTrigger.NoEditTriggers


def test_report_dialog_preview_and_export(opened, ids, qtbot, tmp_path) -> None:
    from gui.dialogs.report import ReportDialog

    w, case = opened, opened.case
    case.tag_items([ids["IMG_0001.jpg"]], bookmarked=True)
    dlg = ReportDialog(case, w.tasks, [], w)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: "1 items" in dlg.counts.text(), timeout=10_000)
    dlg.fmt.setCurrentIndex(dlg.fmt.findData("csv"))
    out = tmp_path / "r.csv"
    dlg.path.setText(str(out))
    dlg.export()
    qtbot.waitUntil(lambda: dlg.result is not None or "⚠" in dlg.message.text(), timeout=60_000)
    assert dlg.result and out.exists() and dlg.result["sha256"] in dlg.message.text()
    assert case.audit_entries("report.export")


def test_face_image_click_selects_face(qtbot) -> None:
    from PyQt6.QtGui import QImage

    from gui.widgets.face_image import FaceImage

    w = FaceImage()
    qtbot.addWidget(w)
    w.resize(400, 400)
    img = QImage(200, 200, QImage.Format.Format_RGB32)
    img.fill(0)
    w.set_image(img, (1000, 1000))  # boxes are in full-resolution pixels
    w.set_faces([{"id": 7, "box": {"top": 100, "right": 400, "bottom": 400, "left": 100}, "person_id": None}])
    r = w.face_rect(w.faces[0])
    assert (round(r.x()), round(r.y()), round(r.width())) == (40, 40, 120)  # 400 px shows 1000 px
    with qtbot.waitSignal(w.face_clicked, timeout=1000) as sig:
        qtbot.mouseClick(w, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert sig.args == [7]


def test_item_view_shows_recorded_errors(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    item = ids["truncated.jpg"]
    errors = case.item(item)["errors"]
    assert errors
    show_item(w, qtbot, item)
    text = w.item_view.meta.toPlainText()
    assert "Errors" in text and errors[0]["message"][:30] in text


def test_video_hit_plays_with_the_face_box_and_steps(opened, ids, qtbot) -> None:
    w, case = opened, opened.case
    face = max(case.faces.faces_of_item(ids["IMG_0001.jpg"]), key=lambda f: f["size"])
    with qtbot.waitSignal(w.face_search.results_shown, timeout=30_000):
        w.find_person(face["id"])
    fs = w.face_search
    row = next(r for r in range(fs.model.rowCount()) if fs.model.card(r).data["kind"] == "video")
    assert not fs.play_button.isEnabled()
    fs.results.setCurrentIndex(fs.model.index(row))
    assert fs.play_button.isEnabled()
    hit = fs.model.card(row).data
    assert "best" in fs.model.card(row).detail  # the best-matching frame's time is on the card
    fs.play_button.click()
    player = fs.player
    with qtbot.waitSignal(player.loaded, timeout=30_000) as sig:
        pass
    assert sig.args[0] == len(player.playback.frames) > 10
    pb = player.playback
    assert pb.frames[0].time <= hit["start"] + 0.05 and pb.frames[-1].time >= hit["end"] - 0.05
    shown = pb.frames[player.position]
    assert shown.box is not None and shown.detected and abs(shown.time - hit["start"]) < 0.05
    assert player.view.pixmap() is not None and not player.view.pixmap().isNull()
    before = player.position
    player.forward.click()
    assert player.position == before + 1
    player.back.click()
    player.back.click()
    assert player.position == max(0, before - 1)
    assert player.strip.count() > 2  # label, best faces, stretch
    player.toggle(True)
    with qtbot.waitSignal(player.frame_shown, timeout=5000):
        pass
    player.toggle(False)
    player.close()


def test_people_view_puts_possible_relatives_to_the_analyst(opened, qtbot) -> None:
    w, case = opened, opened.case
    clusters = case.faces.clusters()
    a, b = sorted((clusters[0]["id"], clusters[1]["id"]))
    fa = case.store.scalar("SELECT MIN(id) FROM faces WHERE person_id = ?", (a,))
    fb = case.store.scalar("SELECT MIN(id) FROM faces WHERE person_id = ?", (b,))
    with case.store.write() as wr:  # as a clustering run in the relatives band records it
        # only this pair (the sample case's own run records one of its copies, a face alone)
        wr.execute("DELETE FROM person_pairs")
        wr.execute("INSERT INTO person_pairs (person_a, person_b, kind, log10_lr, face_a, face_b, created_utc)"
                   " VALUES (?, ?, 'possible_relative', 1.7, ?, ?, '2026-01-01T00:00:00Z')", (a, b, fa, fb))
    people = w.people
    with qtbot.waitSignal(people.refreshed, timeout=10_000):
        w.show_tab(people)
        people.refresh()
    assert people.review.count() == 1 and not people.review.isHidden()
    assert "log10 LR +1.7" in people.review.item(0).text() and "support" in people.review.item(0).text()
    people.review.setCurrentRow(0)
    assert set(people.selected_group_ids()) == {a, b}
    # the analyst decides they are one person: merged, and the pair is gone
    with qtbot.waitSignal(people.changed, timeout=10_000):
        people.merge_selected()
    with qtbot.waitSignal(people.refreshed, timeout=10_000):
        people.refresh()
    assert people.review.count() == 0 and people.review.isHidden()
