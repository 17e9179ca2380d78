"""The per-file ingest function: a file reference in (a host path, or a file inside a disk
image), records out. Pure (no database, no case folder),
so a process pool here, or a distributed engine later, can run it anywhere."""
from __future__ import annotations

import os
import stat

from forensics.clock import utc_from_timestamp
from forensics.evidence import open_readonly
from forensics.hashing.digests import digest_stream
from forensics.ingest.birthtime import birth_time
from forensics.ingest.records import FileResult, FileTask, FrameRecord, IngestOptions
from forensics.media import fspath, sniff
from forensics.model import describe_error


def process_file(task: FileTask, options: IngestOptions) -> FileResult:
    """Catalogue one file. Never raises: every failure is an error on the result."""
    rel = task.relpath or os.path.basename(task.root)
    item: dict = {"kind": "other", "relpath": task.relpath.decode("utf-8", "backslashreplace"), "status": "ok"}
    res = FileResult(task, item)
    flags: list[str] = []
    try:
        _process(task, options, res, flags, rel)
    except Exception as exc:  # last line of defence: the run goes on
        res.errors.append(("internal", _describe(exc)))
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


def hash_only(task: FileTask, options: IngestOptions) -> FileResult:
    """The step of `process_file` that never decodes: times, size, the three digests and
    the type by content. Run on its own for a file whose decoding crashed or hung, so that
    only the derived data is lost and the file can still match a known-hash set."""
    rel = task.relpath or os.path.basename(task.root)
    item: dict = {"kind": "other", "relpath": task.relpath.decode("utf-8", "backslashreplace"), "status": "ok"}
    res = FileResult(task, item)
    flags: list[str] = []
    try:
        _read(task, res, flags, keep_up_to=0)
    except Exception as exc:
        res.errors.append(("internal", _describe(exc)))
        item["status"] = "error"
    item["flags"] = " ".join(dict.fromkeys(flags))
    return res


def _transient(res: FileResult, stage: str, message: str) -> None:
    """A failure that can pass (I/O, stat, permission): recorded, and retried by the next ingest."""
    res.item["status"] = "error"
    res.item["retry"] = 1
    res.errors.append((stage, message))


def _describe(exc: BaseException) -> str:
    """An error text for people and the record: the exception's message, never an object repr."""
    return describe_error(exc)


def _read(task: FileTask, res: FileResult, flags: list[str], keep_up_to: int) -> tuple | None:
    """Stat, hash and sniff one file; (digests, kept bytes, type) for a regular file that
    could be read, else None (the reason is recorded on `res`)."""
    if task.ref is not None:
        return _read_image(task, res, flags, keep_up_to)
    item = res.item
    path = task.path
    try:
        st = fspath.lstat(path)
    except OSError as exc:
        _transient(res, "read", f"cannot stat: {exc.strerror or exc}")
        return None
    item.update(size=st.st_size, mtime_utc=utc_from_timestamp(st.st_mtime), ctime_utc=utc_from_timestamp(st.st_ctime),
                atime_utc=utc_from_timestamp(st.st_atime))
    btime = birth_time(path, st)
    if btime is not None:
        item["btime_utc"] = utc_from_timestamp(btime)
    if stat.S_ISLNK(st.st_mode):
        flags.append("symlink")
        try:
            target = fspath.readlink(path)
            item["link_target_raw"] = target  # exact bytes: compared as bytes by verify
            item["link_target"] = target.decode("utf-8", "backslashreplace")
        except OSError as exc:
            _transient(res, "read", f"cannot read link: {exc.strerror or exc}")
        return None
    if not stat.S_ISREG(st.st_mode):
        flags.append("special_file")
        res.errors.append(("read", "not a regular file (FIFO, socket or device): recorded, not opened"))
        return None
    try:
        fd, refused = open_readonly(path)
        res.noatime_refused = refused
    except OSError as exc:
        flags.append("unreadable")
        _transient(res, "read", f"cannot open for reading: {exc.strerror or exc}")
        return None
    try:
        with os.fdopen(fd, "rb", buffering=0) as f:
            digests, data = digest_stream(f, keep_up_to=keep_up_to)
            head = data[: sniff.SNIFF_BYTES] if data is not None else os.pread(f.fileno(), sniff.SNIFF_BYTES, 0)
    except OSError as exc:
        flags.append("unreadable")
        _transient(res, "read", f"read failed: {exc.strerror or exc}")
        return None
    item.update(md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256, size=digests.size)
    ftype = sniff.sniff(head)
    item["mime"] = ftype.mime
    if ftype.kind in ("image", "video") and digests.size:
        item["kind"] = ftype.kind
    return digests, data, ftype


def _read_image(task: FileTask, res: FileResult, flags: list[str], keep_up_to: int) -> tuple | None:
    """`_read` for a file inside a disk image: its metadata as the file system records it
    (TSK, UTC), and its bytes read through The Sleuth Kit from its evidence reference."""
    from forensics.evidence import open_locator

    ref = task.ref
    item = res.item
    item.update(size=ref.size, mtime_utc=ref.mtime, ctime_utc=ref.ctime, atime_utc=ref.atime)
    if ref.crtime is not None:  # NTFS, ext4 (256-byte inodes), FAT, HFS+ record when the file was created
        item["btime_utc"] = ref.crtime
    flags.extend(ref.flags)
    res.errors.extend(ref.notes)
    if task.kind_hint == "symlink":
        flags.append("symlink")
        try:
            with open_locator(ref) as f:
                target = f.read(4096)
            item["link_target_raw"] = target
            item["link_target"] = target.decode("utf-8", "backslashreplace")
        except Exception as exc:
            res.errors.append(("read", f"cannot read link: {_describe(exc)}"))
        return None
    if task.kind_hint == "special":
        flags.append("special_file")
        res.errors.append(("read", "not a regular file (FIFO, socket or device): recorded, not opened"))
        return None
    try:
        f = open_locator(ref)
    except Exception as exc:  # ImageError: the entry is gone or the image is damaged there
        item["status"] = "error"
        flags.append("unreadable")
        res.errors.append(("read", f"cannot open for reading: {_describe(exc)}"))
        return None
    try:
        with f:
            digests, data = digest_stream(f, keep_up_to=keep_up_to)
            if data is not None:
                head = data[: sniff.SNIFF_BYTES]
            else:
                f.seek(0)
                head = f.read(sniff.SNIFF_BYTES)
    except Exception as exc:
        item["status"] = "error"
        flags.append("unreadable")
        res.errors.append(("read", f"read failed: {getattr(exc, 'strerror', None) or _describe(exc)}"))
        return None
    item.update(md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256, size=digests.size)
    if digests.size != ref.size:
        flags.append("short_read")
        res.errors.append(("read", f"the file system records {ref.size:,} bytes but only {digests.size:,} could be"
                           " read through it (sparse, damaged or unrecoverable): hashes cover what was read"))
    ftype = sniff.sniff(head)
    item["mime"] = ftype.mime
    if ftype.kind in ("image", "video") and digests.size:
        item["kind"] = ftype.kind
    return digests, data, ftype


def _process(task: FileTask, options: IngestOptions, res: FileResult, flags: list[str], rel: bytes) -> None:
    item = res.item
    if task.kind_hint == "unreadable_dir":
        flags.append("unreadable_dir")
        _transient(res, "read", "folder cannot be listed (permission denied or I/O error); its contents are not catalogued")
        return
    got = _read(task, res, flags, keep_up_to=options.max_image_bytes)
    if got is None:
        return
    digests, data, ftype = got
    if digests.size == 0:
        flags.append("empty")
        res.errors.append(("type", "zero-byte file"))
        return
    name = os.path.basename(rel).decode("utf-8", "backslashreplace")
    if sniff.extension_mismatch(ftype, name):
        flags.append("ext_mismatch")
    if ftype.kind == "image":
        if data is None:
            flags.append("too_large_to_decode")
            res.errors.append(("image", f"{digests.size:,} bytes exceeds the decode limit; hashed, not decoded"))
            return
        _image(data, options, res, flags)
    elif ftype.kind == "video":
        _video(task, ftype.mime, options, res, flags)


def _image(data: bytes, options: IngestOptions, res: FileResult, flags: list[str]) -> None:
    from forensics.exif import read_exif, time_fields
    from forensics.hashing.perceptual import image_hashes, is_blank
    from forensics.media.image import ImageDecodeError, open_image, thumbnail_jpeg

    item = res.item
    exif = read_exif(data)
    flags += exif.flags
    item.update(camera_make=exif.make, camera_model=exif.model, taken_time=exif.taken_time,
                gps_lat=exif.gps_lat, gps_lon=exif.gps_lon, gps_alt=exif.gps_alt, **time_fields(exif.taken_time))
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
    else:
        from forensics.hashing.windows import pack, probe_hashes

        # Window, trimmed and turned hashes: what copy search and grouping match cropped,
        # framed and turned copies by (computed from the same draft pixels, ~2 ms).
        res.probes = pack(probe_hashes(dec.image, (item["phash"], item["dhash"])))
    if options.thumbnails:
        res.thumb = thumbnail_jpeg(dec.image)
    if options.faces:
        res.faces = _faces_full(data, options, res, dec)


def _faces_full(data: bytes, options: IngestOptions, res: FileResult, decoded=None) -> list | None:
    from forensics.faces.pipeline import detect_in_image

    try:
        return detect_in_image(data, options.face_options, decoded)
    except Exception as exc:
        res.errors.append(("faces", f"face analysis failed: {describe_error(exc)}"))
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


def _video(task: FileTask, mime: str, options: IngestOptions, res: FileResult, flags: list[str]) -> None:
    from forensics.ingest.frames import summarise_frame
    from forensics.media.video import VideoDecodeError, open_video, probe, sample_frames

    item = res.item
    from forensics.evidence import open_file, open_locator

    try:
        # the same opener as the hashing read (its refusal is counted there); a file inside
        # a disk image is streamed to PyAV through TSK
        f = open_locator(task.ref) if task.ref is not None else open_file(task.path)[0]
    except OSError as exc:
        _transient(res, "read", f"cannot open the video again to decode it: {exc.strerror or exc}")
        return
    except Exception as exc:  # ImageError from the disk image
        item["status"] = "error"
        res.errors.append(("read", f"cannot open the video again to decode it: {_describe(exc)}"))
        return
    try:
        container = open_video(f, mime)
    except VideoDecodeError as exc:
        f.close()
        item["status"] = "error"
        flags.append("video_corrupt")
        res.errors.append(("video", str(exc)))
        return
    try:
        info = probe(container)
        from forensics.exif import time_fields

        item.update(duration=info.duration, codec=info.codec, width=info.width, height=info.height,
                    fps=info.fps, taken_time=info.created, **time_fields(info.created, utc_if_naive=True))
        detect = None
        if options.faces:
            from forensics.faces.pipeline import detect_faces as detect
        selector = None
        if detect is not None and options.follow_faces:
            from forensics.faces.select import DescriptorSelector
            from forensics.media.follow import FollowSampler

            sampler = FollowSampler(container, info, options.follow_rates(), options.scene_changes, options.max_frames)
            samples = iter(sampler)
            selector = DescriptorSelector(options.describe_rates())
        else:
            sampler = None
            samples = sample_frames(container, info, options.frame_interval, options.scene_changes, options.max_frames)
        from forensics.ingest.deadline import progress

        described: list = []  # (frame record, followed-face ident of each described face)
        for fr in samples:
            progress(fr.time)  # the heartbeat that extends this file's deadline
            summary = summarise_frame(fr.rgb, options.thumbnails)
            rec = FrameRecord(fr.index, round(fr.time, 3), fr.reason, fr.width, fr.height,
                              summary.phash, summary.dhash, summary.blank, summary.thumb)
            if detect is not None:
                boxes: list = []
                try:
                    rgb = fr.rgb
                    if selector is not None:  # a followed face is described selectively (forensics.faces.select)
                        from forensics.faces.detect import describe, find_faces

                        found = find_faces(rgb, options.face_options, fr.near, fr.areas)
                        boxes = [c.box for c in found]
                        rec.faces = describe(rgb, selector.choose(fr.time, found), options.face_options)
                        described.append((rec, list(selector.chosen_idents)))
                    else:
                        rec.faces = detect(rgb, options.face_options, fr.near, fr.areas)
                        boxes = [f.box for f in rec.faces]
                except Exception as exc:
                    res.errors.append(("faces", f"frame {fr.index}: {type(exc).__name__}: {exc}"))
                if sampler is not None:
                    sampler.found(fr, boxes)
            res.frames.append(rec)
        if selector is not None:
            _add_spans(described, selector)
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
        f.close()
    if res.frames:
        res.thumb = res.frames[len(res.frames) // 2].thumb if len(res.frames) > 2 else res.frames[0].thumb


def _add_spans(described: list, selector) -> None:
    """Give each described video face the span over which its followed face was detected
    (the detections in between were not described, see forensics.faces.select)."""
    import dataclasses

    for rec, idents in described:
        if rec.faces and len(idents) == len(rec.faces):
            rec.faces = [dataclasses.replace(f, seen_from=round(selector.span(i)[0], 3), seen_to=round(selector.span(i)[1], 3))
                         for f, i in zip(rec.faces, idents)]
