"""One item in detail: large preview with face boxes, metadata, category, tags and note;
for a video, a filmstrip of sampled frames and a timeline of face tracks.

Everything slow (decoding the evidence file, reading faces, copy group, hash-set matches)
is gathered in a background job into plain data; the GUI thread only fills widgets.
"""
from __future__ import annotations

import html
import os
from typing import Any

from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QIcon, QPixmap
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListView,
                             QListWidget, QListWidgetItem, QMenu, QPushButton, QSplitter, QTextBrowser, QVBoxLayout,
                             QWidget)

from forensics import browse
from forensics.catalogue import item_changes, oriented_size
from forensics.evidence import EvidenceError
from forensics.case import Case
from gui.models.cards import DATA_ROLE, Card, CardDelegate, CardModel
from gui.models.thumbs import ThumbnailCache, load_scaled
from gui.tasks import TaskRunner
from gui.widgets.face_image import FaceImage
from gui.widgets.thumb_delegate import format_duration
from gui.widgets.timeline import TrackTimeline

PREVIEW_MAX = 1600


def _try(fn, default: Any) -> Any:
    """Optional services (faces, copies, hash sets) must not keep the item from showing."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return {"_error": f"{type(exc).__name__}: {exc}"} if default is None else default


def gather(case: Case, item_id: int) -> dict:
    """Everything the item view shows, as plain data plus a QImage (runs off the GUI thread)."""
    item = case.item(item_id)
    if item is None:
        raise LookupError(f"item {item_id} is no longer in the case")
    out: dict[str, Any] = {"item": item, "exif": browse.item_exif(case.ctx, item_id)}
    # A derived JPEG from the core: evidence is decoded in a core worker process, never by
    # Qt in this one (videos and frames: their ingest thumbnails).
    preview = case.preview(item_id, PREVIEW_MAX)
    out["image"] = load_scaled(preview, PREVIEW_MAX) if preview is not None else None
    out["source_size"] = oriented_size(item)  # face boxes are in oriented pixels
    out["location"] = _try(lambda: case.item_location(item_id), None)
    out["faces"] = _try(lambda: case.faces.faces_of_item(item_id), [])
    out["hash_matches"] = _try(lambda: case.hashsets.matches(item_id), [])
    out["copy_group"] = _try(lambda: case.copies.group_of(item_id), None)
    if item["kind"] == "video":
        out["frames"] = case.frames(item_id)
        out["tracks"] = _try(lambda: case.faces.tracks_of_video(item_id), [])
    return out


def place_rows(it: dict) -> list[tuple[str, str]]:
    """Place and time zone of a GPS position (looked up offline by forensics.places)."""
    from forensics.places.text import place_text, zone_hint

    if not it.get("place"):
        return [("Place", "not named yet (the map's Name places, or the next analysis, looks it up offline)")]
    rows = [("Place", place_text(it))]
    if hint := zone_hint(it):
        rows.append(("Capture time zone", hint))
    return rows


def metadata_html(d: dict) -> str:
    it = d["item"]
    rows: list[tuple[str, str]] = [
        ("Path", it["path"]), ("Kind", it["kind"]), ("Type", it.get("mime") or "unknown"),
        ("Size", f"{it['size']:,} bytes" if it.get("size") is not None else "–"),
    ]
    if it.get("width"):
        rows.append(("Dimensions", f"{it['width']} × {it['height']}"))
    if it["kind"] in ("video",):
        rows.append(("Duration", f"{format_duration(it.get('duration'))} ({it.get('codec') or '?'}, {it.get('fps') or 0:.2f} fps)"))
    if it["kind"] == "frame":
        rows.append(("Frame", f"{it.get('frame_index')} at {it.get('frame_time') or 0:.2f} s"))
    rows += [("MD5", it.get("md5") or "–"), ("SHA-1", it.get("sha1") or "–"), ("SHA-256", it.get("sha256") or "–"),
             ("pHash / dHash", f"{it.get('phash') or '–'} / {it.get('dhash') or '–'}"),
             ("Modified (UTC)", it.get("mtime_utc") or "–"), ("Taken", it.get("taken_time") or "–")]
    if it.get("camera_model") or it.get("camera_make"):
        rows.append(("Camera", f"{it.get('camera_make') or ''} {it.get('camera_model') or ''}".strip()))
    if it.get("gps_lat") is not None:
        rows.append(("GPS", f"{it['gps_lat']:.6f}, {it['gps_lon']:.6f}" + (f", {it['gps_alt']:.0f} m" if it.get("gps_alt") is not None else "")))
        rows += place_rows(it)
    loc = d.get("location")
    if isinstance(loc, dict) and loc.get("image"):
        rows.append(("Disk image", loc["image"]))
        rows.append(("In image", f"{loc['partition']} at byte {loc['part_offset']:,} · {loc['path_in_image']}"))
        rows.append(("FS entry", f"{loc['fs_type']} entry {loc['inode']}" + (f", attribute {loc['attr_type']}-{loc['attr_id']}"
                     if loc.get("attr_type") is not None else "") + ("" if loc["allocated"] else " · DELETED (unallocated)")))
    if it.get("flags"):
        rows.append(("Flags", " ".join(it["flags"])))
    matches = d.get("hash_matches") or []
    if isinstance(matches, list) and matches:
        # `kind` is what the matching entry means (its own category first), so a category-0
        # entry of a set imported as known-bad reads "non-pertinent", never "known-bad".
        rows.append(("Hash sets", "; ".join(
            f"{m.get('set_name') or m.get('set_id')} ({m.get('kind', '')}, {m.get('hash', '')}"
            + (f", category {m['category']}" if m.get("category") is not None else "")
            + (f", series {m['series']}" if m.get("series") else "")
            + (", victim identified" if m.get("victim_identified") else "") + ")" for m in matches)))
    group = d.get("copy_group")
    if isinstance(group, dict) and group.get("id"):
        rows.append(("Copy group", f"#{group['id']} ({group.get('kind')}, {group.get('size') or len(group.get('members', []))} items)"))
    body = "".join(f"<tr><th align=left valign=top>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    errors = it.get("errors") or []
    if errors:
        body += "<tr><th align=left valign=top style='color:#b00020'>Errors</th><td style='color:#b00020'>" + "<br>".join(
            html.escape(f"[{e['stage']}] {e['message']}") for e in errors) + "</td></tr>"
    if d.get("exif"):
        body += "<tr><th colspan=2 align=left><br>EXIF</th></tr>" + "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))[:200]}</td></tr>" for k, v in sorted(d["exif"].items()))
    return f"<table cellspacing=2>{body}</table>"


class _FrameDelegate(CardDelegate):
    """Filmstrip cells: a frame thumbnail over its time."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.size * 4 // 3 + 8, self.size + 26)


class ItemView(QWidget):
    find_person = pyqtSignal(int)  # face id
    find_similar = pyqtSignal(int)  # item id
    step = pyqtSignal(int)  # -1 / +1: previous / next item in the gallery
    back = pyqtSignal()
    edit_requested = pyqtSignal(dict)  # tag_items keyword arguments for the shown item
    loaded = pyqtSignal(int)  # item id, once the view shows it

    def __init__(self, case: Case, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.tasks = tasks
        self.item_id: int | None = None
        self.video_id: int | None = None
        self.detail: dict | None = None
        self._request = 0
        self.image = FaceImage()
        self.image.face_clicked.connect(self._face_clicked)
        self.image.face_context.connect(self._face_menu)
        self.title = QLabel("")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # An hour of video sampled each second is 3,600 frames: their thumbnails load
        # lazily, only as the strip scrolls to them.
        self.frame_thumbs = ThumbnailCache(72, budget_bytes=16 << 20, parent=self)
        self.frames_model = CardModel(self.frame_thumbs, self)
        self.filmstrip = QListView()
        self.filmstrip.setFlow(QListView.Flow.LeftToRight)
        self.filmstrip.setWrapping(False)
        self.filmstrip.setUniformItemSizes(True)
        self.filmstrip.setItemDelegate(_FrameDelegate(72, self.filmstrip))
        self.filmstrip.setModel(self.frames_model)
        self.filmstrip.setFixedHeight(128)
        self.filmstrip.clicked.connect(lambda i: self.show_frame(i.data(DATA_ROLE).data["id"]))
        self.timeline = TrackTimeline()
        self.timeline.seek.connect(self.seek)
        self.faces_list = QListWidget()
        self.faces_list.setFlow(QListWidget.Flow.LeftToRight)
        self.faces_list.setIconSize(QSize(64, 64))
        self.faces_list.setFixedHeight(96)
        self.faces_list.itemDoubleClicked.connect(lambda it: self.find_person.emit(it.data(Qt.ItemDataRole.UserRole)))
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.addWidget(self.title)
        ll.addWidget(self.image, 1)
        ll.addWidget(QLabel("Faces (double-click: find this person)"))
        ll.addWidget(self.faces_list)
        ll.addWidget(self.timeline)
        ll.addWidget(self.filmstrip)
        self.meta = QTextBrowser()
        self.category = QComboBox()
        self.bookmark = QCheckBox("Bookmarked")
        self.tags = QLineEdit(placeholderText="comma separated")
        self.note = QLineEdit()
        save = QPushButton("Save")
        save.clicked.connect(self._save)
        similar = QPushButton("Find visual copies")
        similar.clicked.connect(lambda: self.item_id and self.find_similar.emit(self.video_id or self.item_id))
        nav = QHBoxLayout()
        for text, slot in (("◀ Previous", lambda: self.step.emit(-1)), ("Back to gallery", self.back.emit),
                           ("Next ▶", lambda: self.step.emit(1))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            nav.addWidget(b)
        right = QWidget()
        form = QFormLayout(right)
        form.addRow(nav)
        form.addRow(self.meta)
        form.addRow("Category", self.category)
        form.addRow("", self.bookmark)
        form.addRow("Tags", self.tags)
        form.addRow("Note", self.note)
        form.addRow(save)
        form.addRow(similar)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self.refresh_categories()

    def refresh_categories(self) -> None:
        self.category.clear()
        self.category.addItem("(none)", None)
        for cid, name in self.case.categories().items():
            self.category.addItem(f"{cid} {name}", cid)

    # -- loading ------------------------------------------------------------------
    def show_item(self, item_id: int) -> None:
        self._request += 1
        req = self._request
        self.item_id = item_id
        self.tasks.run("Open item", lambda t: gather(self.case, item_id), writer=False,
                       on_done=lambda d, r=req: self._show(d, r),
                       on_error=lambda e: self.title.setText(f"Cannot show item {item_id}: {e.message}"), owner=self)

    def _show(self, d: dict, req: int) -> None:
        if req != self._request:
            return  # the user has moved on
        self.detail = d
        it = d["item"]
        self.title.setText(f"<b>{html.escape(os.path.basename(it['path']) or it['path'])}</b> · item {it['id']}")
        self.image.placeholder = "No preview (see errors)" if it.get("errors") else "No preview"
        self.image.set_image(d["image"], d["source_size"])
        faces = d["faces"] if isinstance(d["faces"], list) else []
        self.image.set_faces(faces)
        self._fill_faces(faces)
        self.meta.setHtml(metadata_html(d))
        self.category.setCurrentIndex(max(0, self.category.findData(it.get("category"))))
        self.bookmark.setChecked(bool(it.get("bookmarked")))
        self.tags.setText(", ".join(it.get("tags") or []))
        self.note.setText(it.get("note") or "")
        is_video = it["kind"] == "video"
        if is_video:
            self.video_id = it["id"]
            self._fill_filmstrip(d.get("frames") or [])
            tracks = d.get("tracks") if isinstance(d.get("tracks"), list) else []
            self.timeline.set_tracks(it.get("duration") or 0.0, tracks)
            self.timeline.set_position(None)
        elif it["kind"] != "frame":
            self.video_id = None
        self.filmstrip.setVisible(self.video_id is not None)
        self.timeline.setVisible(self.video_id is not None)
        if it["kind"] == "frame":
            self.timeline.set_position(it.get("frame_time"))
        self.loaded.emit(it["id"])

    def _fill_faces(self, faces: list[dict]) -> None:
        self.faces_list.clear()
        for f in faces:
            item = QListWidgetItem(f.get("person_name") or f"face {f['id']}")
            item.setData(Qt.ItemDataRole.UserRole, f["id"])
            path = _try(lambda: self.case.faces.face_thumb_path(f["id"]), None)
            if path and not isinstance(path, dict) and os.path.exists(path):
                item.setIcon(QIcon(QPixmap(str(path))))
            self.faces_list.addItem(item)
        self.faces_list.setVisible(bool(faces))

    def _fill_filmstrip(self, frames: list[dict]) -> None:
        self.frames_model.set_cards([
            Card(("frame", fr["id"]), str(self.case.thumbs_dir / fr["thumb"]) if fr.get("thumb") else None,
                 format_duration(fr.get("frame_time")) + f".{int((fr.get('frame_time') or 0) * 10) % 10}",
                 "", {"id": fr["id"], "time": fr.get("frame_time") or 0.0})
            for fr in frames])

    def show_frame(self, frame_id: int) -> None:
        self.show_item(frame_id)

    def seek(self, seconds: float) -> None:
        """Show the sampled frame nearest to `seconds` (from the timeline)."""
        cards = self.frames_model.cards
        if not cards:
            return
        row = min(range(len(cards)), key=lambda n: abs(cards[n].data["time"] - seconds))
        idx = self.frames_model.index(row)
        self.filmstrip.setCurrentIndex(idx)
        self.filmstrip.scrollTo(idx)
        self.show_frame(cards[row].data["id"])

    # -- actions ------------------------------------------------------------------
    def _face_clicked(self, face_id: int) -> None:
        for n in range(self.faces_list.count()):
            if self.faces_list.item(n).data(Qt.ItemDataRole.UserRole) == face_id:
                self.faces_list.setCurrentRow(n)

    def _face_menu(self, face_id: int, pos) -> None:
        menu = QMenu(self)
        menu.addAction("Find this person", lambda: self.find_person.emit(face_id))
        menu.exec(pos)

    def _save(self) -> None:
        if self.detail is None:
            return
        it = self.detail["item"]
        changes = item_changes(it, category=self.category.currentData(), tags=self.tags.text().split(","),
                               note=self.note.text(), bookmarked=self.bookmark.isChecked())
        self.edit_requested.emit({"ids": [it["id"]], "label": "Edit item", **changes})

    def keyPressEvent(self, e) -> None:
        if e.key() in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step.emit(1)
        elif e.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step.emit(-1)
        elif e.key() in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.back.emit()
        else:
            super().keyPressEvent(e)
