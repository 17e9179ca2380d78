"""Disk images through The Sleuth Kit: open (cached per process), walk volumes and file
systems, and read one file's bytes back from its evidence reference."""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from forensics.diskimage.images import ImageError, open_media, tsk_image

MAX_OPEN_IMAGES = 4  # per process: a case rarely has more images in flight than this


@dataclass(frozen=True)
class ImageRef:
    """Where a file lives in a disk image: picklable, so it travels to worker processes,
    and enough to read the same bytes again through TSK (verify, faces, copies)."""

    fmt: str  # ewf | raw
    segments: tuple[str, ...]
    partition: str  # 'partition 2 (NTFS)' or 'file system (FAT16)'
    part_offset: int  # byte offset of the file system in the media
    fs_type: str
    inode: int  # inode, MFT entry, FAT directory-entry address
    attr_type: int | None = None  # NTFS $DATA attribute of an alternate data stream or of the file
    attr_id: int | None = None
    size: int = 0
    allocated: bool = True
    mtime: str | None = None
    atime: str | None = None
    ctime: str | None = None
    crtime: str | None = None
    flags: tuple[str, ...] = ()  # deleted, may_be_overwritten, symlink, fs_local_time ...
    notes: tuple[tuple[str, str], ...] = ()  # (stage, message) recorded as item errors


def fs_type_name(ftype: int) -> str:
    import pytsk3

    for name in dir(pytsk3):
        if name.startswith("TSK_FS_TYPE_") and not name.endswith(("DETECT", "ENUM")) and getattr(pytsk3, name) == ftype:
            return name[len("TSK_FS_TYPE_"):]
    return f"type {ftype}"


def tsk_time(sec: int, nano: int = 0) -> str | None:
    """TSK's seconds since the epoch (UTC) as the catalogue's timestamp form; 0 = not recorded."""
    if not sec:
        return None
    try:
        dt = datetime.fromtimestamp(sec, timezone.utc).replace(microsecond=(nano or 0) // 1000)
    except (OverflowError, OSError, ValueError):
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- per-process cache of opened images --------------------------------------------------


@dataclass
class _Open:
    reader: object
    img: object
    fs: dict[int, object] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # libewf handles are not re-entrant


_CACHE: "OrderedDict[tuple, _Open]" = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _opened(fmt: str, segments: tuple[str, ...]) -> _Open:
    key = (fmt, segments)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
        reader = open_media(fmt, segments)
        entry = _Open(reader, tsk_image(reader))
        _CACHE[key] = entry
        while len(_CACHE) > MAX_OPEN_IMAGES:
            _, old = _CACHE.popitem(last=False)
            old.reader.close()
        return entry


def close_all() -> None:
    """Close every cached image of this process (tests, end of a run)."""
    with _CACHE_LOCK:
        for entry in _CACHE.values():
            entry.reader.close()
        _CACHE.clear()


def open_fs(fmt: str, segments: tuple[str, ...], offset: int):
    """The file system at `offset` of the image, opened once per process. Returns (fs, lock)."""
    import pytsk3

    entry = _opened(fmt, segments)
    with entry.lock:
        fs = entry.fs.get(offset)
        if fs is None:
            try:
                fs = pytsk3.FS_Info(entry.img, offset=offset)
            except OSError as exc:
                raise ImageError(f"no file system TSK recognises at offset {offset:,}: {_tsk_msg(exc)}") from exc
            entry.fs[offset] = fs
    return fs, entry.lock


def image_handle(fmt: str, segments: tuple[str, ...]):
    """The cached pytsk3 image and its lock (for the volume walk)."""
    entry = _opened(fmt, segments)
    return entry.img, entry.lock


def _tsk_msg(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- reading one file ----------------------------------------------------------------------


class TskFile(io.RawIOBase):
    """A file inside an image as a read-only, seekable binary stream (for hashing, Pillow
    and PyAV alike): bytes come through TSK, so deleted and resident files read too."""

    def __init__(self, ref: ImageRef) -> None:
        super().__init__()
        self.ref = ref
        self.fs, self._lock = open_fs(ref.fmt, ref.segments, ref.part_offset)
        try:
            with self._lock:
                self._file = self.fs.open_meta(inode=ref.inode)
        except OSError as exc:
            raise ImageError(f"cannot open entry {ref.inode} in {ref.partition}: {_tsk_msg(exc)}") from exc
        self._pos = 0
        self.size = ref.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _read(self, n: int) -> bytes:
        n = min(n, self.size - self._pos)
        if n <= 0:
            return b""
        try:
            with self._lock:
                if self.ref.attr_type is not None:
                    data = self._file.read_random(self._pos, n, self.ref.attr_type, self.ref.attr_id)
                else:
                    data = self._file.read_random(self._pos, n)
        except OSError as exc:
            raise OSError(f"read through TSK failed at {self._pos:,}: {_tsk_msg(exc)}") from exc
        self._pos += len(data)
        return data

    def readinto(self, buf) -> int:
        data = self._read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        # TSK already hands over a bytes object: return it without RawIOBase's extra copies.
        return self._read(self.size if size is None or size < 0 else size)

    def readall(self) -> bytes:
        return self._read(self.size)
