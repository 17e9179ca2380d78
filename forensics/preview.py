"""Large previews of items for the workbench, without decoding evidence in the GUI process.

A preview is a derived image, like a thumbnail: the evidence is read through the evidence
opener (verified against its catalogued SHA-256) and decoded in a worker process, so a
hostile file can crash or exhaust only that process; the JPEG is kept in the case's
thumbnail cache (`thumbs/previews/`), so the next look costs a file read. Videos and
frames use the thumbnails ingest made.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
from pathlib import Path

from forensics.context import CaseContext
from forensics.evidence import EvidenceRef, open_ref

PREVIEW_DIR = "previews"
TIMEOUT = 120.0  # seconds a preview decode may take before its worker is stopped
_lock = threading.Lock()
_pool: cf.ProcessPoolExecutor | None = None


def render(ref: EvidenceRef, max_side: int) -> bytes:
    """JPEG of an image item at most `max_side` pixels on its long side (runs in a worker)."""
    import io

    from PIL import Image

    from forensics.media.image import open_image

    f, _ = open_ref(ref, verify=True)
    with f:
        data = f.read()
    im = open_image(data, draft=max_side).image
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def _worker() -> cf.ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # spawn, not fork: called from GUI threads
            _pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _reset() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            for proc in list(getattr(_pool, "_processes", {}).values()):
                proc.kill()
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None


def preview_path(ctx: CaseContext, item_id: int, max_side: int = 1600) -> Path | None:
    """A derived JPEG showing the item (cached), or None when there is nothing to show.

    Images are rendered from their verified bytes in a worker process; a file changed
    since ingest, unreadable or undecodable falls back to the ingest thumbnail."""
    item = ctx.catalogue.item(int(item_id))
    if item is None:
        return None
    if item["kind"] == "image" and item.get("sha256"):
        out = ctx.paths.thumbs / PREVIEW_DIR / item["sha256"][:2] / f"{item['sha256']}_{max_side}.jpg"
        if out.is_file():
            return out
        try:
            data = _worker().submit(render, ctx.evidence.ref(int(item_id)), max_side).result(timeout=TIMEOUT)
        except (cf.TimeoutError, cf.process.BrokenProcessPool):
            _reset()  # a decoder that hung or crashed: a fresh worker next time
            data = None
        except Exception:  # changed, unreadable or undecodable: show the ingest thumbnail
            data = None
        if data:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(f".{os.getpid()}.tmp")
            try:
                tmp.write_bytes(data)
                os.replace(tmp, out)
                return out
            except OSError:  # a full or read-only case folder: show it uncached next time
                tmp.unlink(missing_ok=True)
    thumb = item.get("thumb")
    path = ctx.paths.thumbs / thumb if thumb else None
    return path if path is not None and path.is_file() else None
