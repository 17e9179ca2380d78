"""The per-file ingest function: path in, records out. Pure (no database, no case folder),
so a process pool here, or a distributed engine later, can run it anywhere."""
from __future__ import annotations

import os
import stat

from forensics.clock import utc_from_timestamp
from forensics.evidence import open_readonly
from forensics.hashing.digests import digest_stream
from forensics.ingest.records import FileResult, FileTask, FrameRecord, IngestOptions
from forensics.media import sniff


def process_file(task: FileTask, options: IngestOptions) -> FileResult:
    """Catalogue one file. Never raises: every failure is an error on the result."""
    rel = task.relpath or os.path.basename(task.root)
    item: dict = {"kind": "other", "relpath": task.relpath.decode("utf-8", "backslashreplace"), "status": "ok"}
    res = FileResult(task, item)
    flags: list[str] = []
    try:
        _process(task, options, res, flags, rel)
    except Exception as exc:  # last line of defence: the run goes on
        res.errors.append(("internal", f"{type(exc).__name__}: {exc}"))
        item["status"] = "error"
    if not _is_utf8(rel):
        flags.append("name_not_utf8")
    item["flags"] = " ".join(dict.fromkeys(flags))
    return res


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _process(task: FileTask, options: IngestOptions, res: FileResult, flags: list[str], rel: bytes) -> None:
    item = res.item
    path = task.path
    if task.kind_hint == "unreadable_dir":
        flags.append("unreadable_dir")
        item["status"] = "error"
        res.errors.append(("read", "folder cannot be listed (permission denied or I/O error); its contents are not catalogued"))
        return
    try:
        st = os.lstat(path)
    except OSError as exc:
        item["status"] = "error"
        res.errors.append(("read", f"cannot stat: {exc.strerror or exc}"))
        return
    item.update(size=st.st_size, mtime_utc=utc_from_timestamp(st.st_mtime), ctime_utc=utc_from_timestamp(st.st_ctime),
                atime_utc=utc_from_timestamp(st.st_atime))
    if stat.S_ISLNK(st.st_mode):
        flags.append("symlink")
        try:
            item["link_target"] = os.readlink(path).decode("utf-8", "backslashreplace")
        except OSError as exc:
            res.errors.append(("read", f"cannot read link: {exc.strerror}"))
        return
    if not stat.S_ISREG(st.st_mode):
        flags.append("special_file")
        res.errors.append(("read", "not a regular file (FIFO, socket or device): recorded, not opened"))
        return
    try:
        fd, _ = open_readonly(path)
    except OSError as exc:
        item["status"] = "error"
        flags.append("unreadable")
        res.errors.append(("read", f"cannot open for reading: {exc.strerror or exc}"))
        return
    try:
        with os.fdopen(fd, "rb", buffering=0) as f:
            digests, data = digest_stream(f, keep_up_to=options.max_image_bytes)
    except OSError as exc:
        item["status"] = "error"
        flags.append("unreadable")
        res.errors.append(("read", f"read failed: {exc.strerror or exc}"))
        return
    item.update(md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256, size=digests.size)
    head = data[: sniff.HEAD_BYTES * 4] if data is not None else _head(path)
    ftype = sniff.sniff(head)
    item["mime"] = ftype.mime
    if digests.size == 0:
        flags.append("empty")
        res.errors.append(("type", "zero-byte file"))
        return
    name = os.path.basename(rel).decode("utf-8", "backslashreplace")
    if sniff.extension_mismatch(ftype, name):
        flags.append("ext_mismatch")
    if ftype.kind == "image":
        item["kind"] = "image"
        if data is None:
            flags.append("too_large_to_decode")
            res.errors.append(("image", f"{digests.size:,} bytes exceeds the decode limit; hashed, not decoded"))
            return
        _image(data, options, res, flags)
    elif ftype.kind == "video":
        item["kind"] = "video"
        _video(path, ftype.mime, options, res, flags)


def _head(path: bytes) -> bytes:
    fd, _ = open_readonly(path)
    try:
        return os.read(fd, sniff.HEAD_BYTES * 4)
    finally:
        os.close(fd)


def _image(data: bytes, options: IngestOptions, res: FileResult, flags: list[str]) -> None:
    from forensics.exif import read_exif
    from forensics.hashing.perceptual import image_hashes, is_blank
    from forensics.media.image import ImageDecodeError, open_image, thumbnail_jpeg

    item = res.item
    exif = read_exif(data)
    flags += exif.flags
    item.update(camera_make=exif.make, camera_model=exif.model, taken_time=exif.taken_time,
                gps_lat=exif.gps_lat, gps_lon=exif.gps_lon, gps_alt=exif.gps_alt)
    if exif.tags:
        import json

        item["exif_json"] = json.dumps(exif.tags, ensure_ascii=False)
    try:
        dec = open_image(data)
    except ImageDecodeError as exc:
        item["status"] = "error"
        flags.append(exc.flag)
        res.errors.append(("image", str(exc)))
        _header_size(data, item)
        return
    flags += dec.flags
    if "truncated" in dec.flags:
        res.errors.append(("image", "image file is truncated: only part of the picture decodes"))
    if dec.frames and dec.frames > 1:
        item["frame_count"] = dec.frames
    item.update(width=dec.width, height=dec.height, orientation=dec.orientation)
    item.update(image_hashes(dec.image))
    item["blank"] = int(is_blank(dec.image))
    if item["blank"]:
        flags.append("blank")
    if options.thumbnails:
        res.thumb = thumbnail_jpeg(dec.image)
    if options.faces:
        res.faces = _faces_full(data, options, res)


def _faces_full(data: bytes, options: IngestOptions, res: FileResult) -> list | None:
    import numpy as np

    from forensics.faces.pipeline import detect_faces
    from forensics.media.image import open_image

    try:
        full = open_image(data, draft=None).image
        return detect_faces(np.ascontiguousarray(np.asarray(full, dtype=np.uint8)), options.face_options)
    except Exception as exc:
        res.errors.append(("faces", f"face analysis failed: {type(exc).__name__}: {exc}"))
        return None


def _header_size(data: bytes, item: dict) -> None:
    """Record dimensions from the header even when the pixels are refused or broken."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            item["width"], item["height"] = im.size
    except Exception:
        pass


def _video(path: bytes, mime: str, options: IngestOptions, res: FileResult, flags: list[str]) -> None:
    import numpy as np

    from forensics.hashing.perceptual import image_hashes, is_blank
    from forensics.media.image import thumbnail_jpeg
    from forensics.media.video import VideoDecodeError, open_video, probe, sample_frames

    item = res.item
    try:
        container = open_video(path, mime)
    except VideoDecodeError as exc:
        item["status"] = "error"
        flags.append("video_corrupt")
        res.errors.append(("video", str(exc)))
        return
    try:
        info = probe(container)
        item.update(duration=info.duration, codec=info.codec, width=info.width, height=info.height,
                    fps=info.fps, taken_time=info.created)
        detect = None
        if options.faces:
            from forensics.faces.pipeline import detect_faces as detect
        for fr in sample_frames(container, info, options.frame_interval, options.scene_changes, options.max_frames):
            hashes = image_hashes(fr.image)
            rec = FrameRecord(fr.index, round(fr.time, 3), fr.reason, fr.image.width, fr.image.height,
                              hashes["phash"], hashes["dhash"], is_blank(fr.image),
                              thumbnail_jpeg(fr.image) if options.thumbnails else None)
            if detect is not None:
                try:
                    rec.faces = detect(np.ascontiguousarray(np.asarray(fr.image, dtype=np.uint8)), options.face_options)
                except Exception as exc:
                    res.errors.append(("faces", f"frame {fr.index}: {type(exc).__name__}: {exc}"))
            res.frames.append(rec)
        item.update(duration=info.duration, frame_count=info.frame_count)
        flags += info.flags
        for e in info.errors:
            res.errors.append(("video", e))
    except VideoDecodeError as exc:
        item["status"] = "error"
        flags.append("video_corrupt")
        res.errors.append(("video", str(exc)))
    finally:
        container.close()
    if res.frames:
        res.thumb = res.frames[len(res.frames) // 2].thumb if len(res.frames) > 2 else res.frames[0].thumb
