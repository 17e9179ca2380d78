"""Face analysis of already-catalogued items (a case ingested without faces, or a run
that was interrupted): re-reads the evidence read-only, resumable item by item."""
from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
import numpy as np

from forensics.context import CaseContext
from forensics.faces.pipeline import detect_faces, finish_video, record_failure, write_faces
from forensics.model import Progress


def pending_items(ctx: CaseContext, item_ids: list[int] | None = None) -> list[tuple[int, str, int | None, int | None]]:
    """(id, kind, parent_id, frame_index) of images and frames not yet analysed."""
    sql = ("SELECT id, kind, parent_id, frame_index FROM items WHERE kind IN ('image', 'frame') AND status = 'ok'"
           " AND id NOT IN (SELECT item_id FROM face_analysis)")
    rows = [tuple(r) for r in ctx.store.query(sql + " ORDER BY id")]
    if item_ids is not None:
        wanted = set(int(i) for i in item_ids)
        # asking for a video means its frames
        rows = [r for r in rows if r[0] in wanted or (r[2] is not None and r[2] in wanted)]
    return rows  # type: ignore[return-value]


def _video_frames(path: bytes, indices: set[int]):
    """Decode a video read-only and yield (frame_index, RGB array) for the wanted frames,
    counting decoded frames the way ingest's sampler does."""
    from forensics.media.video import open_video

    container = open_video(path)
    try:
        vs = next(s for s in container.streams if s.type == "video")
        vs.thread_type = "AUTO"
        last = max(indices)
        for n, frame in enumerate(container.decode(vs)):
            if n in indices:
                yield n, np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
            if n >= last:
                break
    finally:
        container.close()


def detect_file(path: bytes | str | None, options: dict | None) -> tuple[str, object]:
    """("ok", faces) or ("error", message) for one image file, opened read-only."""
    from forensics.media.image import open_image

    try:
        if path is None:
            raise FileNotFoundError("the item has no file path")
        with open(path, "rb") as f:  # evidence is only ever opened read-only
            data = f.read()
        return "ok", detect_faces(np.asarray(open_image(data, draft=None).image, dtype=np.uint8), options)
    except Exception as exc:
        return "error", f"face analysis failed: {type(exc).__name__}: {exc}"


def _run_parallel(jobs: list, options: dict | None, workers: int, store: Callable, cancel) -> bool:
    """Detect in worker processes, write here. A worker that dies takes only the items it
    had in flight with it (recorded as failed); the run goes on with a fresh pool."""
    import concurrent.futures as cf
    import multiprocessing

    pending = list(reversed(jobs))
    while pending:
        # spawn, not fork: analysis may run from a GUI thread
        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            in_flight: dict = {}
            try:
                while pending or in_flight:
                    if cancel is not None and cancel.is_set():
                        for fut in in_flight:
                            fut.cancel()
                        return True
                    while pending and len(in_flight) < workers * 3:
                        item_id, path = pending.pop()
                        in_flight[pool.submit(detect_file, path, options)] = item_id
                    done_now, _ = cf.wait(in_flight, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                    for fut in done_now:
                        store(in_flight.pop(fut), fut.result())
            except cf.process.BrokenProcessPool:
                for item_id in in_flight.values():
                    store(item_id, ("error", "face analysis crashed the worker process"))
    return False


def analyze_items(ctx: CaseContext, item_ids: list[int] | None = None, options: dict | None = None,
                  progress: Callable[[Progress], None] | None = None,
                  cancel: threading.Event | None = None, workers: int = 1) -> dict:
    """Detect and store faces for pending items; a bad file is recorded and skipped.
    Images go to `workers` processes (1 = in this process); video frames are decoded here."""
    rows = pending_items(ctx, item_ids)
    thumbs = ctx.paths.thumbs
    total, done, failed, found = len(rows), 0, 0, 0
    start = time.monotonic()
    videos: dict[int, dict[int, int]] = defaultdict(dict)  # video id -> frame_index -> frame item id
    images = []
    for item_id, kind, parent, index in rows:
        if kind == "frame" and parent is not None and index is not None:
            videos[parent][index] = item_id
        else:
            images.append(item_id)

    def tick(msg: str) -> None:
        if progress:
            rate = done / max(time.monotonic() - start, 1e-6)
            progress(Progress(done, total, failed, rate, (total - done) / rate if rate else None, msg))

    cancelled = False

    def store(item_id: int, outcome: tuple[str, object]) -> None:
        nonlocal done, failed, found
        kind, value = outcome
        with ctx.store.write() as w:
            if kind == "ok":
                found += len(write_faces(w, item_id, value, thumbs))  # type: ignore[arg-type]
            else:
                failed += 1
                record_failure(w, item_id, str(value))
        done += 1
        tick(f"item {item_id}")

    jobs = [(item_id, ctx.catalogue.item_file(item_id)) for item_id in images]
    if workers > 1 and len(jobs) > 1:
        cancelled = _run_parallel(jobs, options, workers, store, cancel)
    else:
        for item_id, path in jobs:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            store(item_id, detect_file(path, options))
    for video_id, frames in videos.items():
        if cancelled or (cancel is not None and cancel.is_set()):
            cancelled = True
            break
        path = ctx.catalogue.item_file(video_id)
        seen: set[int] = set()
        try:
            for index, rgb in _video_frames(path, set(frames)):
                try:
                    faces = detect_faces(rgb, options)
                except Exception as exc:
                    failed += 1
                    with ctx.store.write() as w:
                        record_failure(w, frames[index], f"face analysis failed: {type(exc).__name__}: {exc}")
                else:
                    with ctx.store.write() as w:
                        found += len(write_faces(w, frames[index], faces, thumbs))
                seen.add(index)
                done += 1
                tick(f"{os.fsdecode(path)[-60:]} frame {index}")
                if cancel is not None and cancel.is_set():
                    break
        except Exception as exc:
            with ctx.store.write() as w:
                for index in set(frames) - seen:
                    record_failure(w, frames[index], f"video frame could not be decoded for faces: {exc}")
                    failed += 1
                    done += 1
        missing = set(frames) - seen
        if missing and not (cancel is not None and cancel.is_set()):
            with ctx.store.write() as w:
                for index in missing:
                    if not w.execute("SELECT 1 FROM face_analysis WHERE item_id = ?", (frames[index],)).fetchone():
                        record_failure(w, frames[index], "frame not found when decoding the video again")
                        failed += 1
                        done += 1
        with ctx.store.write() as w:
            finish_video(w, video_id)
    return {"items": total, "analysed": done, "failed": failed, "faces": found,
            "videos": len(videos), "cancelled": cancelled, "seconds": round(time.monotonic() - start, 2)}
