"""Screenshots of the desktop workbench on the sample case, for the README.

    uv run python docs/screenshots.py [OUT_DIR]

Starts its own Xvfb server (apt-get install xvfb) unless $DISPLAY is already set, builds
the sample evidence, creates a case, ingests it with face detection, clusters faces,
names the largest cluster, and saves PNGs of the main views into docs/screenshots/.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SIZE = (1440, 900)


def start_xvfb() -> subprocess.Popen | None:
    """Start Xvfb on a free display number when no display is available."""
    if os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM", "xcb") == "xcb":
        return None
    if shutil.which("Xvfb") is None:
        sys.exit("Xvfb is not installed (apt-get install -y xvfb)")
    for n in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{n}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    try:
        return shoot(out)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


def name_clusters(case) -> None:
    """Play the analyst: name each cluster after the labelled folder most of its photos
    come from (the sample's astronaut is Eileen Collins)."""
    from collections import Counter

    for c in case.faces.clusters():
        p = case.faces.person(c["id"])
        votes = Counter()
        for ph in p["photos"]:
            parts = Path(ph["path"]).parts
            if "labeled" in parts:
                votes[parts[parts.index("labeled") + 1].replace("_", " ").title()] += 1
            elif "DCIM" in parts and ph["path"].endswith(("IMG_0001.jpg", "IMG_0003.heic")):
                votes["Eileen Collins"] += 1
        for v in p["videos"]:
            if "hamilton" in (v["path"] or ""):
                votes["Lin Manuel Miranda"] += 1
        if votes:
            name, n = votes.most_common(1)[0]
            if name not in {x["name"] for x in case.faces.persons()}:
                case.faces.name_person(c["id"], name)


def shoot(out: Path) -> int:
    from PyQt6.QtCore import QEventLoop, QSettings
    from PyQt6.QtWidgets import QApplication

    from forensics import browse
    from gui.app import install_exception_hook
    from gui.views.main_window import MainWindow
    from sample_cases.build import build_sample_evidence

    app = QApplication(["forensics-gui"])
    install_exception_hook()
    work = Path(tempfile.mkdtemp(prefix="forensics-shots-"))
    evidence = build_sample_evidence(work / "evidence")
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(*SIZE)
    win.show()

    def wait(pred, timeout: float = 120.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                raise TimeoutError(f"timed out waiting for {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    def settle(seconds: float = 0.6) -> None:
        win.tasks.wait()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    def save(name: str) -> None:
        settle()
        path = out / name
        win.grab().save(str(path))
        print(f"wrote {path}", file=sys.stderr)

    case = win.create_case(str(work / "case"), name="Operation Larch", number="2024-0117", examiner="DC A. Smith",
                           authority="Search warrant 24/117, Westminster Magistrates")
    sources = [str(evidence)]
    # Real faces make the people and search views worth looking at: the project's
    # reference photos, read in place from ../shared/data when it is there.
    shared = (ROOT / ".." / "shared" / "data").resolve()
    if (shared / "faces" / "labeled").is_dir():
        sources += [str(shared / "faces" / "labeled"), str(shared / "faces" / "scenes")]
        if (shared / "video" / "short_hamilton_clip.mp4").is_file():
            sources.append(str(shared / "video" / "short_hamilton_clip.mp4"))
    done: list = []
    win.ingest_finished.connect(done.append)
    win.ingest(sources, faces=True)
    wait(lambda: done, 900, "ingest")
    case.faces.cluster()
    case.copies.group()
    name_clusters(case)
    # Some categorising, so the gallery shows badges.
    ids = {r["name"]: r["id"] for r in browse.item_rows(case.ctx, browse.item_ids(case.ctx))}
    case.tag_items([ids["IMG_0001.jpg"], ids["IMG_0003.heic"]], category=4, add_tags=["astronaut"], bookmarked=True)
    case.tag_items([ids["IMG_0002.jpg"]], category=1, bookmarked=True)
    case.tag_items([ids["IMG_0010.jpg"], ids["IMG_0011.jpg"]], category=0)
    refreshed: list = []
    win.gallery_refreshed.connect(lambda: refreshed.append(1))
    f = win.gallery.filters
    f.sort.setCurrentIndex(f.sort.findData("path"))  # refreshes the gallery
    wait(lambda: refreshed, 30, "gallery")
    win.refresh_facets()
    win.gallery.select_ids([ids["IMG_0002.jpg"]])
    wait(lambda: win.thumbs.cached_bytes() > 0, 30, "thumbnails")
    save("gallery.png")
    shoot_timeline(win, wait, save)

    win.show_item(ids["IMG_0001.jpg"])
    wait(lambda: win.item_view.detail and win.item_view.detail["item"]["id"] == ids["IMG_0001.jpg"], 30, "item")
    save("item_faces.png")

    videos = [i for n, i in ids.items() if n.endswith(".mp4") and case.item(i)["status"] == "ok"]
    video = max(videos, key=lambda v: (len(case.faces.tracks_of_video(v)), case.item(v)["duration"] or 0))
    win.show_item(video)
    wait(lambda: win.item_view.detail and win.item_view.detail["item"]["id"] == video, 30, "video")
    settle()
    tracks = win.item_view.timeline.tracks
    if tracks:
        win.item_view.seek(tracks[0]["start"])
    wait(lambda: win.item_view.detail["item"]["kind"] == "frame" or not tracks, 30, "frame")
    save("video_tracks.png")

    win.show_tab(win.people)
    wait(lambda: win.people.groups.count() > 0, 30, "people")
    win.people.groups.setCurrentRow(0)
    wait(lambda: win.people.faces_model.rowCount() > 0, 30, "faces of a person")
    save("people.png")

    # Search for the person who appears in the most items (a real face when ../shared is there).
    persons = sorted(case.faces.persons(), key=lambda p: -p["items"])
    if persons:  # query with a photo of the person: results then show photos and video tracks
        p = case.faces.person(persons[0]["id"])
        stills = [ph for ph in p["photos"] if not ph["path"].lower().endswith((".mp4", ".avi"))]
        face = {"id": stills[0]["face_id"] if stills else p["representative_face_ids"][0]}
    else:
        face = max(case.faces.faces_of_item(ids["IMG_0001.jpg"]), key=lambda f: f["size"])
    win.find_person(face["id"])
    wait(lambda: win.face_search.model.rowCount() > 0, 60, "face search")
    save("face_search.png")

    win.find_similar(ids["IMG_0002.jpg"])
    wait(lambda: win.similar.model.rowCount() > 0, 60, "similar")
    save("similar_images.png")

    shoot_map(win, ids, wait, save)
    shoot_timeline(win, wait, save)

    win.show_tab(win.audit)
    wait(lambda: win.audit.model.rowCount() > 0, 30, "audit")
    win.audit.verify()
    wait(lambda: bool(win.audit.chain.text()), 30, "verify")
    save("audit_log.png")
    win.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


def shoot_timeline(win, wait, save) -> None:
    """The timeline dock over 2024, split by kind, with the trip (June to October) brushed
    by a real mouse drag and the gallery filtered to it."""
    from datetime import datetime, timezone

    from PyQt6.QtCore import QPoint, Qt
    from PyQt6.QtTest import QTest

    def ts(month: int, day: int) -> float:
        return datetime(2024, month, day, tzinfo=timezone.utc).timestamp()

    tlw = win.timeline_dock.timeline
    canvas = tlw.canvas
    wait(lambda: canvas.points is not None and len(canvas.points) > 0, 60, "timeline")
    canvas.set_view(ts(2, 20), ts(11, 10))
    refreshed: list = []
    win.gallery_refreshed.connect(lambda: refreshed.append(1))
    y = canvas.height() // 2
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(canvas.x_of(ts(6, 5))), y))
    QTest.mouseMove(canvas, QPoint(round(canvas.x_of(ts(10, 14))), y))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(canvas.x_of(ts(10, 14))), y))
    wait(lambda: refreshed, 30, "gallery after the brush")
    wait(lambda: win.thumbs.cached_bytes() > 0, 30, "thumbnails")
    save("timeline.png")
    refreshed.clear()
    tlw.clear.click()
    wait(lambda: refreshed, 30, "gallery after clearing the brush")


def shoot_map(win, ids: dict, wait, save) -> None:
    """The map tab: the whole trip, clustered; western Europe with the Paris marker
    selected; and the gallery filtered by a lasso drawn round Paris."""
    import numpy as np
    from PyQt6.QtCore import QPointF

    from forensics.places import mapgrid

    view, canvas = win.map_view, win.map_view.canvas
    loaded: list = []
    view.loaded.connect(lambda: loaded.append(1))
    win.show_tab(view)
    wait(lambda: loaded and len(canvas.ids) > 0, 60, "map positions")
    canvas.fit()
    wait(lambda: canvas.tiles_waiting == 0, 30, "map tiles")
    save("map.png")
    paris = win.case.item(ids["paris_louvre.jpg"])
    x, y = (float(v[0]) for v in mapgrid.project(np.array([paris["gps_lat"]]), np.array([paris["gps_lon"]])))
    canvas.set_view(x, y - 0.004, 6)
    k = canvas.cluster_at(canvas.to_screen(x, y))
    if k is not None:
        canvas.click(canvas.to_screen(float(canvas.clusters().x[k]), float(canvas.clusters().y[k])))
    wait(lambda: canvas.tiles_waiting == 0, 30, "map tiles")
    save("map_europe.png")
    refreshed: list = []
    win.gallery_refreshed.connect(lambda: refreshed.append(1))
    canvas.set_view(x, y, 10)
    centre = canvas.to_screen(x, y)
    ring = [QPointF(centre.x() + 160 * np.cos(a), centre.y() + 110 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 40)]
    canvas.finish_lasso(ring)
    wait(lambda: refreshed, 30, "gallery after the lasso")
    win.show_tab(win.gallery)
    wait(lambda: win.thumbs.cached_bytes() > 0, 30, "thumbnails")
    save("map_lasso_gallery.png")
    view.clear_area()


def shoot_timeline(win, wait, save) -> None:
    """The gallery with the activity timeline under it, brushed over the summer-autumn 2024
    trip through the filter panel's date fields (the timeline follows them)."""
    from datetime import datetime, timezone

    tlw = win.timeline_dock.timeline
    wait(lambda: tlw.canvas.points is not None and len(tlw.canvas.points) > 0, 60, "timeline")
    win.show_tab(win.gallery)
    refreshed: list = []
    win.gallery_refreshed.connect(lambda: refreshed.append(1))
    f = win.gallery.filters
    f.date_from.setText("2024-06-01")
    f.date_to.setText("2024-10-31")
    wait(lambda: refreshed, 30, "gallery after the dates")

    def ts(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()

    tlw.canvas.set_view(ts("2024-01-15"), ts("2024-12-15"))
    wait(lambda: win.thumbs.cached_bytes() > 0, 30, "thumbnails")
    save("timeline.png")
    f.date_from.setText("")
    f.date_to.setText("")


if __name__ == "__main__":
    sys.exit(main())
