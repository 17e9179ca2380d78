"""Forensic disk images as read-only byte sources: EWF (E01/Ex01, split E01/E02...) through
libewf, raw (dd/raw/img) and split raw (.001/.002...) by concatenating the segments.

Both are exposed to The Sleuth Kit as `pytsk3.Img_Info` subclasses, so partition tables and
file systems are parsed by TSK over exactly the bytes the examiner acquired. Nothing is ever
opened for writing, and nothing is written beside the image.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

EWF_SIGNATURES = (b"EVF\x09\x0d\x0a\xff\x00", b"EVF2\x0d\x0a\x81\x00", b"LVF\x09\x0d\x0a\xff\x00")
EWF_SUFFIX = re.compile(r"\.(e|ex|s|l|lx)01$", re.IGNORECASE)
RAW_SUFFIXES = {".dd", ".raw", ".img", ".bin", ".001"}
_SPLIT_RAW = re.compile(r"^(.*\.)(\d{3,})$")
_NOATIME = getattr(os, "O_NOATIME", 0)
READ_CHUNK = 4 << 20


class ImageError(Exception):
    """The image cannot be opened or read (missing segment, corrupt header, truncated)."""


@dataclass(frozen=True)
class ImageInfo:
    """What identifies an image and what it says about its own acquisition."""

    format: str  # ewf | raw
    segments: tuple[str, ...]
    media_size: int
    stored_md5: str | None = None
    stored_sha1: str | None = None
    acquisition: dict | None = None  # EWF header values


def image_format(path: str | os.PathLike) -> str | None:
    """'ewf' or 'raw' when `path` is a disk image this tool reads, else None. EWF is known
    by its signature, raw by the usual extensions (a raw image has no signature)."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head in EWF_SIGNATURES or EWF_SUFFIX.search(p.name):
        return "ewf"
    if p.suffix.lower() in RAW_SUFFIXES:
        return "raw"
    return None


def segments(path: str | os.PathLike, fmt: str) -> tuple[str, ...]:
    """All segment files of the image whose first segment is `path`, in order."""
    path = os.path.abspath(os.fspath(path))
    if fmt == "ewf":
        import pyewf

        try:
            return tuple(pyewf.glob(path))
        except Exception as exc:
            raise ImageError(f"cannot find the EWF segments of {path}: {exc}") from exc
    m = _SPLIT_RAW.match(path)
    if not m or int(m.group(2)) != 1:
        return (path,)
    stem, width = m.group(1), len(m.group(2))
    out, n = [], 1
    while os.path.isfile(f"{stem}{n:0{width}d}"):
        out.append(f"{stem}{n:0{width}d}")
        n += 1
    return tuple(out)


def _open_ro(path: str) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags | _NOATIME)
    except PermissionError:
        return os.open(path, flags)


class MediaReader:
    """Random access to the acquired media bytes, whatever the container."""

    size: int

    def pread(self, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass


class RawReader(MediaReader):
    """A raw image, single or split: the segments concatenated in order."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self._fds: list[int] = []
        self._starts: list[int] = []
        pos = 0
        try:
            for p in paths:
                fd = _open_ro(p)
                self._fds.append(fd)
                self._starts.append(pos)
                pos += os.fstat(fd).st_size
        except OSError as exc:
            self.close()
            raise ImageError(f"cannot open raw segment: {exc}") from exc
        self.size = pos

    def pread(self, offset: int, length: int) -> bytes:
        if offset >= self.size or length <= 0:
            return b""
        length = min(length, self.size - offset)
        if len(self._fds) == 1:
            return os.pread(self._fds[0], length, offset)
        import bisect

        parts = []
        i = bisect.bisect_right(self._starts, offset) - 1
        while length > 0 and i < len(self._fds):
            chunk = os.pread(self._fds[i], length, offset - self._starts[i])
            if not chunk:
                break
            parts.append(chunk)
            offset += len(chunk)
            length -= len(chunk)
            i += offset >= (self._starts[i + 1] if i + 1 < len(self._starts) else self.size)
        return b"".join(parts)

    def close(self) -> None:
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []


class EwfReader(MediaReader):
    """An EWF image through libewf (E01, Ex01, S01, split segments), opened read-only."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        import pyewf

        self._h = pyewf.handle()
        try:
            self._h.open(list(paths), "r")
            self.size = self._h.get_media_size()
        except Exception as exc:
            raise ImageError(f"libewf cannot open the image: {exc}") from exc

    def pread(self, offset: int, length: int) -> bytes:
        try:
            return self._h.read_buffer_at_offset(length, offset)
        except Exception as exc:
            raise ImageError(f"EWF read at offset {offset:,} failed: {exc}") from exc

    def info(self) -> tuple[str | None, str | None, dict]:
        h = self._h
        md5 = sha1 = None
        try:
            md5 = h.get_hash_value("MD5") or None
            sha1 = h.get_hash_value("SHA1") or None
        except Exception:
            pass
        headers = {}
        try:
            headers = {k: v for k, v in (h.get_header_values() or {}).items() if v}
        except Exception:
            pass
        return md5, sha1, headers

    def close(self) -> None:
        try:
            self._h.close()
        except Exception:
            pass


def open_media(fmt: str, paths: tuple[str, ...]) -> MediaReader:
    """Open an image's segments read-only."""
    if not paths:
        raise ImageError("no segment files found")
    return EwfReader(paths) if fmt == "ewf" else RawReader(paths)


def describe(path: str | os.PathLike) -> ImageInfo:
    """Identify the image at `path` and read its own acquisition record (EWF hashes, headers)."""
    fmt = image_format(path)
    if fmt is None:
        raise ImageError(f"{path} is not a disk image this tool reads")
    segs = segments(path, fmt)
    reader = open_media(fmt, segs)
    try:
        if reader.size <= 0:
            raise ImageError(f"{path} holds no media data (an empty, truncated or damaged image)")
        if isinstance(reader, EwfReader):
            md5, sha1, headers = reader.info()
            return ImageInfo(fmt, segs, reader.size, md5, sha1, headers)
        return ImageInfo(fmt, segs, reader.size)
    finally:
        reader.close()


def hash_media(fmt: str, paths: tuple[str, ...], progress: Callable[[int, int], None] | None = None,
               cancel: Callable[[], bool] | None = None):
    """MD5, SHA-1 and SHA-256 of the whole acquired media in one streaming pass (for EWF:
    the decompressed media, which is what its stored acquisition hash covers). Returns
    forensics.hashing.digests.Digests, or None when cancelled."""
    from forensics.hashing.digests import MultiHasher

    reader = open_media(fmt, paths)
    try:
        hasher = MultiHasher()
        pos = 0
        while pos < reader.size:
            chunk = reader.pread(pos, min(READ_CHUNK, reader.size - pos))
            if not chunk:
                raise ImageError(f"the image ends at {pos:,} bytes, {reader.size:,} expected (truncated)")
            hasher.update(chunk)
            pos += len(chunk)
            if progress is not None:
                progress(pos, reader.size)
            if cancel is not None and cancel():
                return None
        return hasher.result()
    finally:
        reader.close()


def tsk_image(reader: MediaReader):
    """The media as a pytsk3 image, so TSK parses volumes and file systems over our reader."""
    import pytsk3

    class _Img(pytsk3.Img_Info):
        def __init__(self, r: MediaReader) -> None:
            self._r = r
            super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

        def read(self, offset: int, size: int) -> bytes:
            return self._r.pread(offset, size)

        def get_size(self) -> int:
            return self._r.size

        def close(self) -> None:
            self._r.close()

    return _Img(reader)
