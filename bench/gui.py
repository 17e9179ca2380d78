"""Gallery benchmark: open a generated case of 100,000 items and measure time to first
paint, the GUI-thread block of each scroll step from top to bottom, and peak memory.

    uv run python bench/gui.py [--items 100000] [--thumbs 3000] [--case DIR]

The case is generated once (rows inserted directly through `case.store.write()`, with a
few thousand small JPEG thumbnails shared among the items) in a child process, so its
memory does not count against the GUI, and reused on later runs. Runs offscreen unless
QT_QPA_PLATFORM says otherwise. Targets: first paint < 1 s, no scroll step > 50 ms,
peak memory well under 1 GB. The activity timeline's first paint and redraw steps are
measured in the same run (bench/gui_timeline.py; targets < 1 s and < 50 ms).

Opening the case is also timed in fresh processes, alternating with a baseline source tree
(`--baseline-src DIR`, repeatable, e.g. `git archive main | tar -x -C DIR`): the same case, the same
measurement, the code before and after a change side by side in one run. Bytecode is
compiled before anything is timed, as an installed workbench has it (this machine sets
PYTHONDONTWRITEBYTECODE, which would otherwise make every run compile the views inside the
timed case opening).

The map tab is measured in the same run on a second generated case whose 100,000 items all
have GPS positions (clustered round 60 cities, as seized phones' photos are, plus some
spread along the way): first paint (positions query, clustering, base-layer tiles) and
each redraw of a zoom and pan sequence, beside a baseline that paints every position as its
own marker without clustering. Targets: first paint < 1 s, redraw < 50 ms.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate(path: Path, n_items: int, n_thumbs: int) -> None:
    """A case with `n_items` image rows and `n_thumbs` thumbnail files shared among them."""
    from PIL import Image, ImageDraw

    from forensics.case import Case

    rnd = random.Random(1)
    case = Case.create(path, name="GUI benchmark", number="BENCH-1", examiner="bench", authority="benchmark data")
    tdir = case.thumbs_dir / "bench"
    tdir.mkdir(parents=True, exist_ok=True)
    for t in range(n_thumbs):
        w, h = rnd.choice([(256, 192), (192, 256), (256, 256), (256, 144)])
        im = Image.new("RGB", (w, h), tuple(rnd.randrange(256) for _ in range(3)))
        d = ImageDraw.Draw(im)
        for _ in range(6):
            x, y = rnd.randrange(w), rnd.randrange(h)
            d.ellipse((x, y, x + rnd.randrange(20, 120), y + rnd.randrange(20, 120)),
                      fill=tuple(rnd.randrange(256) for _ in range(3)))
        im.save(tdir / f"{t}.jpg", quality=80)
    cameras = [None, "iPhone 12", "SM-G991B", "Pixel 7", "EOS 80D"]
    times = _capture_times(rnd, n_items)
    with case.store.write() as w:
        w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/evidence', X'2F65766964656E6365', 'now', 'bench')")
        rows = []
        for i in range(n_items):
            video = i % 97 == 0
            rows.append((
                "video" if video else "image", 1, f"folder{i // 1000:03d}/IMG_{i:06d}.jpg",
                f"folder{i // 1000:03d}/IMG_{i:06d}.jpg".encode(), rnd.randrange(20_000, 8_000_000),
                *times(i, video), f"{i:032x}", 4000, 3000, cameras[i % 5],
                51.5 if i % 7 == 0 else None, -0.1 if i % 7 == 0 else None, f"bench/{i % n_thumbs}.jpg",
                "now", (i % 10) if i % 13 == 0 else None, 1 if i % 101 == 0 else 0,
                12.5 if video else None))
        w.executemany(
            "INSERT INTO items (kind, source_id, relpath, relpath_raw, size, mtime_utc, taken_time, taken_utc,"
            " taken_local, taken_offset, taken_zone, sha256, width, height,"
            " camera_model, gps_lat, gps_lon, thumb, ingested_utc, category, bookmarked, duration)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    case.close()


def _capture_times(rnd: random.Random, n_items: int):
    """Times as ingest records them (forensics.exif.time_fields), spread over six years with
    bursts of activity: most photos carry a zone-less EXIF time, some an offset, some none
    (file time only); videos a UTC creation time."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2019, 1, 1, tzinfo=timezone.utc).timestamp()
    span = 6 * 365 * 86400
    bursts = [t0 + rnd.random() * span for _ in range(40)]
    instants = sorted(rnd.choice(bursts) + rnd.gauss(0, 3 * 3600) if rnd.random() < 0.3 else t0 + rnd.random() * span
                      for _ in range(n_items))

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    def fields(i: int, video: bool) -> tuple:
        t = instants[i]
        mtime = iso(t + rnd.randrange(0, 86400 * 30)) + ".000000Z"
        if video:
            return mtime, iso(t) + "+00:00", iso(t) + ".000000Z", None, "+00:00", "utc"
        if i % 10 < 6:
            return mtime, iso(t), iso(t) + ".000000Z", iso(t), None, "local-unknown"
        if i % 10 < 8:
            local = iso(t + 7200)
            return mtime, local + "+02:00", iso(t) + ".000000Z", local, "+02:00", "offset"
        return iso(t) + ".000000Z", None, None, None, None, None
    return fields


def compile_bytecode(*roots: Path) -> None:
    """Byte-compile the workbench's code and the environment's packages (once; files that
    are up to date are skipped)."""
    import compileall
    import sysconfig

    for root in (*roots, Path(sysconfig.get_paths()["purelib"])):
        compileall.compile_dir(str(root), quiet=2, workers=1)


def open_child(path: Path) -> dict:
    """One case opening in this (fresh) process with the code on sys.path: first paint of
    the gallery, the whole list in place, the timeline's first paint with bars, and the GUI
    thread's CPU time up to the gallery's first paint."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QEvent, QEventLoop, QObject, QSettings
    from PyQt6.QtWidgets import QApplication

    from gui.views.main_window import MainWindow

    app = QApplication(["bench"])
    win = MainWindow(QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat))
    win.resize(1400, 900)
    win.show()
    app.processEvents()
    marks: dict[str, float] = {}

    class Watch(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 - Qt name
            if ev.type() == QEvent.Type.Paint:
                if obj is gallery and win.model is not None and win.model.rowCount() > 0:
                    marks.setdefault("gallery", time.perf_counter())
                    marks.setdefault("gallery_cpu", time.thread_time())
                elif obj is canvas and canvas.points is not None and len(canvas.points):
                    marks.setdefault("timeline", time.perf_counter())
            return False

    watch = Watch()
    t0, c0 = time.perf_counter(), time.thread_time()
    win.gallery_refreshed.connect(lambda: marks.setdefault("complete", time.perf_counter()))
    win.open_case(path, examiner="Bench")
    dock = getattr(win, "timeline_dock", None)  # code from before the timeline has none
    gallery, canvas = win.gallery.list.viewport(), dock.timeline.canvas if dock is not None else None
    wanted = {"gallery", "complete"} | ({"timeline"} if canvas is not None else set())
    for w in (gallery, canvas):
        if w is not None:
            w.installEventFilter(watch)
    while not wanted <= set(marks) and time.perf_counter() - t0 < 60:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    out = {"first_paint_s": marks["gallery"] - t0, "first_paint_gui_cpu_s": marks["gallery_cpu"] - c0,
           "list_complete_s": marks["complete"] - t0,
           "timeline_first_paint_s": marks["timeline"] - t0 if "timeline" in marks else float("nan")}
    win.close()
    return out


def compare_opening(path: Path, baselines: list[Path], rounds: int) -> dict:
    """Case opening, this code ("new") against each baseline source tree (named by its
    folder), in fresh processes taking turns (A B B A ...), so all see the same machine
    load; medians."""
    import json
    import statistics

    codes = [("new", ROOT)] + [(b.name, b) for b in baselines]
    compile_bytecode(ROOT / "forensics", ROOT / "gui", *baselines)
    runs: dict[str, list[dict]] = {name: [] for name, _ in codes}
    for r in range(rounds):
        for name, src in (codes if r % 2 == 0 else codes[::-1]):
            out = subprocess.run([sys.executable, __file__, "--open-child", "--src", str(src), "--case", str(path)],
                                 check=True, capture_output=True, text=True).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
    result = {}
    for name, rs in runs.items():
        for key in rs[0]:
            result[f"open_{name}_{key}_median"] = round(statistics.median(x[key] for x in rs), 3)
        result[f"open_{name}_first_paint_s_all"] = [round(x["first_paint_s"], 3) for x in rs]
    result["open_rounds"] = rounds
    result["load_average_1min_after_opening"] = round(os.getloadavg()[0], 2)
    return result


def measure(path: Path, steps_limit: int | None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QEvent, QEventLoop, QObject, QPoint, QSettings
    from PyQt6.QtWidgets import QApplication

    from bench.gui_timeline import TimelineWatch, measure_timeline
    from gui.views.main_window import MainWindow

    app = QApplication(["bench"])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(1400, 900)
    win.show()
    app.processEvents()

    painted: list[float] = []

    class PaintWatch(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 - Qt name
            if ev.type() == QEvent.Type.Paint and win.model is not None and win.model.rowCount() > 0:
                painted.append(time.perf_counter())
            return False

    watch = PaintWatch()
    load_before = os.getloadavg()[0]
    complete: list[float] = []
    win.gallery_refreshed.connect(lambda: complete.append(time.perf_counter()))
    timeline_watch = TimelineWatch(win)
    t0, c0 = time.perf_counter(), time.thread_time()
    win.open_case(path, examiner="Bench")
    win.gallery.list.viewport().installEventFilter(watch)
    timeline_watch.attach(win)
    while not painted:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    first_paint = painted[0] - t0
    first_paint_cpu = time.thread_time() - c0  # the GUI thread's own CPU time, without waiting for a core
    while not complete:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    rows = win.model.rowCount()
    lst = win.gallery.list

    def visible_loaded() -> bool:
        top = lst.indexAt(QPoint(20, 20)).row()
        # The cells on screen (at most 20): the timeline dock leaves the grid fewer rows.
        vp = lst.viewport()
        last = lst.indexAt(QPoint(vp.width() - 40, vp.height() - 40)).row()
        end = min(rows, top + 20, last + 1 if last >= 0 else rows)
        return top >= 0 and all(win.thumbs.has(win.model.id_at(r)) for r in range(top, end))

    while not visible_loaded():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    thumbs_on_screen = time.perf_counter() - t0

    import gc

    gc_pauses: list[float] = []
    gc_start: list[float] = []

    def gc_watch(phase: str, info: dict) -> None:
        if phase == "start":
            gc_start.append(time.perf_counter())
        elif gc_start:
            gc_pauses.append(time.perf_counter() - gc_start.pop())
    gc.callbacks.append(gc_watch)
    bar = lst.verticalScrollBar()
    step = bar.pageStep()
    blocks: list[float] = []
    cpu: list[float] = []  # GUI-thread CPU time per step: the block without other processes' load
    slow: list[tuple[int, float, int]] = []
    fetches0 = win.model.fetches
    t_scroll = time.perf_counter()
    value = 0
    while value < bar.maximum():
        value = min(bar.maximum(), value + step)
        s = time.perf_counter()
        c = time.thread_time()
        bar.setValue(value)
        lst.viewport().repaint()  # paint now, synchronously: the cost a user would feel
        app.processEvents()  # deliver loaded thumbnails and queued signals
        blocks.append(time.perf_counter() - s)
        cpu.append(time.thread_time() - c)
        if blocks[-1] > 0.03:
            slow.append((len(blocks), round(blocks[-1] * 1000, 1), win.model.fetches))
        if steps_limit and len(blocks) >= steps_limit:
            break
    scroll_total = time.perf_counter() - t_scroll
    blocks_sorted = sorted(blocks)
    result = {
        "items": rows,
        "first_paint_s": round(first_paint, 3),
        "first_paint_gui_cpu_s": round(first_paint_cpu, 3),
        "list_complete_s": round(complete[0] - t0, 3),  # the whole id list in the model
        "load_average_1min_before": round(load_before, 2),
        "visible_thumbnails_s": round(thumbs_on_screen, 3),
        "scroll_steps": len(blocks),
        "scroll_step_px": step,
        "scroll_total_s": round(scroll_total, 2),
        "scroll_step_max_ms": round(max(blocks) * 1000, 1),
        "scroll_step_p99_ms": round(blocks_sorted[int(len(blocks) * 0.99) - 1] * 1000, 1),
        "scroll_step_median_ms": round(blocks_sorted[len(blocks) // 2] * 1000, 2),
        "scroll_step_cpu_max_ms": round(max(cpu) * 1000, 1),
        "scroll_step_cpu_p99_ms": round(sorted(cpu)[int(len(cpu) * 0.99) - 1] * 1000, 1),
        "scroll_step_cpu_median_ms": round(sorted(cpu)[len(cpu) // 2] * 1000, 2),
        "gc_pause_max_ms": round(max(gc_pauses, default=0) * 1000, 1),
        "gc_collections": len(gc_pauses),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "row_batches_fetched": win.model.fetches - fetches0,
        "thumbnail_cache_mb": round(win.thumbs.cached_bytes() / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    result.update(measure_timeline(app, win, t0, timeline_watch))
    # A filter change over 100,000 items (runs off the GUI thread; time until shown).
    f = win.gallery.filters
    done: list[float] = []
    win.gallery_refreshed.connect(lambda: done.append(time.perf_counter()))
    s = time.perf_counter()
    f.gps.setCurrentIndex(f.gps.findData(True))
    while not done:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    result["filter_has_gps_s"] = round(done[0] - s, 3)
    result["filter_has_gps_items"] = win.model.rowCount()
    win.close()
    if os.environ.get("BENCH_VERBOSE"):
        print("slow steps (step, ms, batches fetched so far):", slow, file=sys.stderr)
    return result


def generate_map(path: Path, n_items: int) -> None:
    """A case of `n_items` image rows, every one with a GPS position."""
    import numpy as np

    from forensics.case import Case

    rng = np.random.default_rng(7)
    case = Case.create(path, name="Map benchmark", number="BENCH-2", examiner="bench", authority="benchmark data")
    cities = np.column_stack((rng.uniform(-45, 65, 60), rng.uniform(-170, 175, 60)))
    home = rng.integers(0, len(cities), n_items)
    spread = rng.lognormal(-3.0, 1.2, n_items)[:, None]  # most within a few km, a tail of trips
    pos = cities[home] + rng.normal(0, 1, (n_items, 2)) * spread
    on_the_way = rng.random(n_items) < 0.1
    pos[on_the_way] = np.column_stack((rng.uniform(-60, 70, on_the_way.sum()), rng.uniform(-180, 180, on_the_way.sum())))
    pos[:, 0] = np.clip(pos[:, 0], -85, 85)
    pos[:, 1] = np.clip(pos[:, 1], -180, 180)
    with case.store.write() as w:
        w.execute("INSERT INTO sources (path, path_raw, added_utc, added_by) VALUES ('/evidence', X'2F65766964656E6365', 'now', 'bench')")
        w.executemany("INSERT INTO items (kind, source_id, relpath, relpath_raw, size, ingested_utc, gps_lat, gps_lon)"
                      " VALUES ('image', 1, ?, ?, 1000, 'now', ?, ?)",
                      ((f"DCIM/IMG_{i:06d}.jpg", f"DCIM/IMG_{i:06d}.jpg".encode(), float(la), float(lo))
                       for i, (la, lo) in enumerate(pos.tolist())))
    case.close()


def measure_map(path: Path) -> dict:
    """First paint and redraws of the map tab over the case at `path`."""
    import numpy as np
    from PyQt6.QtCore import QEvent, QEventLoop, QObject, QPointF, QSettings
    from PyQt6.QtGui import QColor, QImage, QPainter
    from PyQt6.QtWidgets import QApplication

    from forensics.places import mapgrid
    from gui.views.main_window import MainWindow

    app = QApplication.instance() or QApplication(["bench"])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings)
    win.resize(1400, 900)
    win.show()
    win.open_case(path, examiner="Bench")
    while win.model is None or win.model.rowCount() == 0:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    view, canvas = win.map_view, win.map_view.canvas
    painted: list[float] = []

    class PaintWatch(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 - Qt name
            if ev.type() == QEvent.Type.Paint and len(canvas.ids):
                painted.append(time.perf_counter())
            return False

    watch = PaintWatch()
    canvas.installEventFilter(watch)
    t0, c0 = time.perf_counter(), time.process_time()
    win.show_tab(view)
    while not painted:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 2)
    first_paint = painted[-1] - t0
    first_paint_cpu = time.process_time() - c0  # every thread: query, clustering, tiles
    app.processEvents()
    positions = len(canvas.ids)

    def timed(action) -> tuple[float, float]:
        s, c = time.perf_counter(), time.thread_time()
        action()
        canvas.repaint()  # paint now, synchronously: the cost a user would feel
        return time.perf_counter() - s, time.thread_time() - c

    centre = QPointF(canvas.width() / 2, canvas.height() / 2)
    zooms, pans = [], []
    rng = np.random.default_rng(3)
    # Zoom into ten places (a level at a time, new clusters and new tiles each step), then
    # pan about at each depth and zoom back out.
    wx, wy = np.asarray(canvas.index.x), np.asarray(canvas.index.y)  # world units of the positions
    for k in range(10):
        target = rng.integers(0, positions)
        canvas.set_view(float(wx[target]), float(wy[target]), 2)
        for _ in range(12):
            zooms.append(timed(lambda: canvas.zoom_at(centre, 1)))
            for _ in range(3):
                d = rng.normal(0, 120, 2)
                pans.append(timed(lambda: canvas.set_view(canvas.cx + d[0] / canvas.scale, canvas.cy + d[1] / canvas.scale)))
        for _ in range(12):
            zooms.append(timed(lambda: canvas.zoom_at(centre, -1)))

    # Baseline: every position painted as its own marker, no clustering (at the world view).
    canvas.set_view(0.5, 0.45, 2)
    img = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    xs, ys = canvas.index.x * canvas.scale, canvas.index.y * canvas.scale
    left, top = canvas.view_origin()
    s = time.perf_counter()
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor("#d9480f"))
    for x, y in zip((xs - left).tolist(), (ys - top).tolist()):
        p.drawEllipse(QPointF(x, y), 5, 5)
    p.end()
    naive = time.perf_counter() - s
    win.close()

    def stats(name: str, runs: list[tuple[float, float]]) -> dict:
        wall = sorted(r[0] for r in runs)
        cpu = sorted(r[1] for r in runs)
        return {f"map_{name}_steps": len(runs), f"map_{name}_max_ms": round(wall[-1] * 1000, 1),
                f"map_{name}_p99_ms": round(wall[int(len(wall) * 0.99) - 1] * 1000, 1),
                f"map_{name}_median_ms": round(wall[len(wall) // 2] * 1000, 2),
                f"map_{name}_cpu_max_ms": round(cpu[-1] * 1000, 1)}

    return {"map_positions": positions, "map_first_paint_s": round(first_paint, 3),
            "map_first_paint_cpu_s": round(first_paint_cpu, 3),
            **stats("zoom", zooms), **stats("pan", pans),
            "map_baseline_unclustered_paint_ms": round(naive * 1000, 1),
            "map_markers_at_world_view": len(canvas.clusters()),
            "map_tile_cache": len(canvas.tiles._cache),
            "load_average_1min_after_map": round(os.getloadavg()[0], 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--thumbs", type=int, default=3000)
    ap.add_argument("--case", type=Path, default=None, help="case folder (generated if missing)")
    ap.add_argument("--steps", type=int, default=None, help="stop scrolling after this many steps")
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--generate-map", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-map", action="store_true", help="measure the gallery only")
    ap.add_argument("--baseline-src", type=Path, action="append", default=[],
                    help="source tree of code to compare case opening with (e.g. main, exported); repeatable")
    ap.add_argument("--rounds", type=int, default=4, help="case openings of each code with --baseline-src")
    ap.add_argument("--open-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    path = args.case or Path(tempfile.gettempdir()) / f"forensics-bench-gui-v2-{args.items}"
    if args.open_child:
        import json

        sys.path.insert(0, str(args.src))
        print(json.dumps(open_child(path)), flush=True)
        os._exit(0)  # no teardown of Qt under running loader threads: only the figures matter here
    if args.generate_only:
        generate(path, args.items, args.thumbs)
        return 0
    if args.generate_map:
        generate_map(path, args.items)
        return 0
    if not (path / "case.sqlite").exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--generate-only", "--items", str(args.items),
                        "--thumbs", str(args.thumbs), "--case", str(path)], check=True)
        print(f"generated {args.items:,} items in {time.perf_counter() - t:.1f} s at {path}", file=sys.stderr)
    compile_bytecode(ROOT / "forensics", ROOT / "gui")
    if args.baseline_src:
        for k, v in compare_opening(path, args.baseline_src, args.rounds).items():
            print(f"{k:52} {v}")
    r = measure(path, args.steps)
    for k, v in r.items():
        print(f"{k:28} {v}")
    ok = r["first_paint_s"] < 1.0 and r["scroll_step_max_ms"] <= 50 and r["peak_rss_mb"] < 1024
    print("targets (first paint < 1 s, scroll step <= 50 ms, memory < 1 GB):", "met" if ok else "NOT met")
    from bench.gui_timeline import timeline_ok

    print("timeline targets (first paint < 1 s, zoom/pan/brush redraw < 50 ms):",
          "met" if timeline_ok(r) else "NOT met")
    if not args.no_map:
        map_path = Path(tempfile.gettempdir()) / f"forensics-bench-map-{args.items}"
        if not (map_path / "case.sqlite").exists():
            subprocess.run([sys.executable, __file__, "--generate-map", "--items", str(args.items),
                            "--case", str(map_path)], check=True)
        m = measure_map(map_path)
        for k, v in m.items():
            print(f"{k:34} {v}")
        ok = m["map_first_paint_s"] < 1.0 and max(m["map_zoom_max_ms"], m["map_pan_max_ms"]) < 50
        print("map targets (first paint < 1 s, redraw < 50 ms):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
