"""Face analysis of already-catalogued items (a case ingested without faces, or a run
that was interrupted): re-reads the evidence read-only, resumable item by item."""
from __future__ import annotations

import itertools
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from forensics.context import CaseContext
from forensics.evidence import EvidenceError, EvidenceRef, noatime_message, open_ref
from forensics.faces.pipeline import detect_faces, finish_video, record_failure, write_faces
from forensics.model import Progress, describe_error, error_message


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


def _video_frames(f, indices: set[int]):
    """Decode a video (an open evidence file object) and yield (frame_index, RGB array)
    for the wanted frames, counting decoded frames the way ingest's sampler does."""
    from forensics.media.video import open_video

    container = open_video(f)
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


def detect_file(ref: EvidenceRef, options: dict | None) -> tuple[str, object, bool]:
    """("ok", faces, noatime refused) or ("error", message, ...) for one image item. Its
    bytes are read through the evidence opener and must be the catalogued ones: a file
    changed since ingest is reported, never analysed as if it were the original."""
    from forensics.faces.pipeline import detect_in_image

    refused = False
    try:
        f, refused = open_ref(ref, verify=True)
        with f:
            data = f.read()
        return "ok", detect_in_image(data, options), refused
    except EvidenceError as exc:
        return "error", f"face analysis not done: {exc}", refused
    except Exception as exc:
        return "error", f"face analysis failed: {describe_error(exc)}", refused


def detect_video(ref: EvidenceRef, indices: list[int], options: dict | None) -> list[tuple[int, tuple[str, object]]]:
    """(frame index, outcome) for the wanted frames of one video, read through the evidence
    opener (verified) and decoded; outcomes are ("ok", faces), ("error", message) or
    ("missing", message). Runs anywhere (a Dask worker)."""
    out: list[tuple[int, tuple[str, object]]] = []
    seen: set[int] = set()
    try:
        f, _ = open_ref(ref, verify=True)
        with f:
            for index, rgb in _video_frames(f, set(indices)):
                try:
                    out.append((index, ("ok", detect_faces(rgb, options))))
                except Exception as exc:
                    out.append((index, ("error", f"face analysis failed: {describe_error(exc)}")))
                seen.add(index)
    except Exception as exc:
        msg = (f"face analysis not done: {exc}" if isinstance(exc, EvidenceError)
               else f"video frame could not be decoded for faces: {describe_error(exc)}")
        out += [(i, ("error", msg)) for i in sorted(set(indices) - seen)]
        return out
    out += [(i, ("missing", "frame not found when decoding the video again")) for i in sorted(set(indices) - seen)]
    return out


def _on_worker(fn: Callable, ref: EvidenceRef, path_map: tuple, *args):
    """A Dask task: the same detection in the worker's decoder sandbox, with the evidence
    path as the worker sees it; a crash or hang there is an error on the item(s)."""
    import dataclasses

    from forensics.cluster import map_path, run_sandboxed

    if ref.path is not None and path_map:
        ref = dataclasses.replace(ref, path=map_path(ref.path, path_map))
    if ref.image is not None and path_map:  # inside a disk image: the image's segments as the worker sees them
        segments = tuple(os.fsdecode(map_path(os.fsencode(s), path_map)) for s in ref.image.segments)
        ref = dataclasses.replace(ref, image=dataclasses.replace(ref.image, segments=segments))
    outcome, result = run_sandboxed(1800.0, fn, ref, *args)
    if outcome == "ok":
        return result
    message = ("face analysis crashed the worker's decoder process" if outcome == "crash"
               else "face analysis took longer than 1800 s and was stopped")
    if fn is detect_video:
        return [(i, ("error", message)) for i in args[0]]
    return ("error", message, False)


def _run_cluster(spec, jobs: list, videos: dict[int, tuple[EvidenceRef, dict[int, int]]], options: dict | None,
                 store: Callable, store_video: Callable, cancel) -> bool:
    """Photos and whole videos as Dask tasks (one key each, FACES resource where workers declare
    it); results are written here as they arrive. Returns True when cancelled."""
    from forensics.cluster import connect
    from forensics.faces.detect import load_models
    from forensics.model import Cancelled

    with connect(spec, faces=True, warmups=(load_models,), modules=(__name__,)) as cl:
        photo_jobs = ((("image", item_id), (detect_file, ref, spec.path_map, options), cl.workers_for(ref.path or b""))
                      for item_id, ref in jobs)
        video_jobs = ((("video", vid), (detect_video, ref, spec.path_map, sorted(frames), options),
                       cl.workers_for(ref.path or b"")) for vid, (ref, frames) in videos.items())

        def done(tag, result, error) -> None:
            kind, ident = tag
            if kind == "image":
                store(ident, result if error is None else ("error", f"face analysis task failed: {describe_error(error)}", False))
            else:
                path, frames = videos[ident]
                if error is not None:
                    result = [(i, ("error", f"face analysis task failed: {describe_error(error)}")) for i in sorted(frames)]
                store_video(ident, frames, result)

        try:
            cl.map_bounded(_on_worker, itertools.chain(photo_jobs, video_jobs), done, label="faces", faces=True,
                           cancel=cancel)
        except Cancelled:
            return True
    return False


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
                        item_id, ref = pending.pop()
                        in_flight[pool.submit(detect_file, ref, options)] = item_id
                    done_now, _ = cf.wait(in_flight, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                    for fut in done_now:
                        store(in_flight.pop(fut), fut.result())
            except cf.process.BrokenProcessPool:
                for item_id in in_flight.values():
                    store(item_id, ("error", "face analysis crashed the worker process", False))
    return False


def analyze_items(ctx: CaseContext, item_ids: list[int] | None = None, options: dict | None = None,
                  progress: Callable[[Progress], None] | None = None,
                  cancel: threading.Event | None = None, workers: int = 1, cluster=None) -> dict:
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

    def store(item_id: int, outcome: tuple[str, object, bool]) -> None:
        nonlocal done, failed, found
        kind, value, refused = outcome
        ctx.evidence.count_refused(refused)
        with ctx.store.write() as w:
            if kind == "ok":
                found += len(write_faces(w, item_id, value, thumbs))  # type: ignore[arg-type]
            else:
                failed += 1
                record_failure(w, item_id, str(value))
        done += 1
        tick(f"item {item_id}")

    refused_before = ctx.evidence.noatime_refused
    jobs = [(item_id, ctx.evidence.ref(item_id)) for item_id in images]
    video_count = len(videos)
    if cluster is not None:
        def store_video(video_id: int, frames: dict[int, int], outcomes: list) -> None:
            nonlocal done, failed, found
            with ctx.store.write() as w:
                for index, (kind, value) in outcomes:
                    if kind == "ok":
                        found += len(write_faces(w, frames[index], value, thumbs))  # type: ignore[arg-type]
                    else:
                        failed += 1
                        record_failure(w, frames[index], str(value))
                    done += 1
                finish_video(w, video_id)
            tick(f"video {video_id}")

        cancelled = _run_cluster(cluster, jobs, {v: (ctx.evidence.ref(v), f) for v, f in videos.items()}, options,
                                 store, store_video, cancel)
        video_count, videos = len(videos), {}  # done on the cluster
    elif workers > 1 and len(jobs) > 1:
        cancelled = _run_parallel(jobs, options, workers, store, cancel)
    else:
        for item_id, ref in jobs:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            store(item_id, detect_file(ref, options))
    for video_id, frames in videos.items():
        if cancelled or (cancel is not None and cancel.is_set()):
            cancelled = True
            break
        label = (ctx.catalogue.display_path_of(video_id) or "")[-60:]  # image items have no host path
        seen: set[int] = set()
        try:
            with ctx.evidence.open_item(video_id, verify=True) as f:
                for index, rgb in _video_frames(f, set(frames)):
                    try:
                        faces = detect_faces(rgb, options)
                    except Exception as exc:
                        failed += 1
                        with ctx.store.write() as w:
                            record_failure(w, frames[index], f"face analysis failed: {describe_error(exc)}")
                    else:
                        with ctx.store.write() as w:
                            found += len(write_faces(w, frames[index], faces, thumbs))
                    seen.add(index)
                    done += 1
                    tick(f"{label} frame {index}")
                    if cancel is not None and cancel.is_set():
                        break
        except Exception as exc:
            with ctx.store.write() as w:
                for index in set(frames) - seen:
                    record_failure(w, frames[index], f"face analysis not done: {exc}" if isinstance(exc, EvidenceError)
                                   else f"video frame could not be decoded for faces: {error_message(exc)}")
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
    out = {"items": total, "analysed": done, "failed": failed, "faces": found,
           "videos": video_count, "cancelled": cancelled, "seconds": round(time.monotonic() - start, 2)}
    note = noatime_message(ctx.evidence.noatime_refused - refused_before)
    if note:
        out["note"] = note
    return out
