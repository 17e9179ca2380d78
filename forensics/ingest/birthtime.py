"""A file's birth (creation) time, only where the file system really recorded one.

`st_ctime` on Linux and other Unixes is the inode *change* time, not a creation time, so it
is never used here. Sources of a real creation time: `st_birthtime` (macOS, BSD, Windows
with Python 3.12+) and, on Linux, the statx(2) system call's `stx_btime`, which ext4, XFS,
Btrfs and tmpfs fill in; statx reports through `stx_mask` whether the file system had one.
statx reads inode metadata only: the file is not opened and its access time is unchanged.
"""
from __future__ import annotations

import ctypes
import os
import sys

_AT_FDCWD = -100
_AT_SYMLINK_NOFOLLOW = 0x100
_STATX_BTIME = 0x800


class _StatxTimestamp(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_int64), ("tv_nsec", ctypes.c_uint32), ("_reserved", ctypes.c_int32)]


class _Statx(ctypes.Structure):
    # struct statx from <linux/stat.h>; 256 bytes in all, the tail is spare room.
    _fields_ = [
        ("stx_mask", ctypes.c_uint32), ("stx_blksize", ctypes.c_uint32), ("stx_attributes", ctypes.c_uint64),
        ("stx_nlink", ctypes.c_uint32), ("stx_uid", ctypes.c_uint32), ("stx_gid", ctypes.c_uint32),
        ("stx_mode", ctypes.c_uint16), ("_spare0", ctypes.c_uint16), ("stx_ino", ctypes.c_uint64),
        ("stx_size", ctypes.c_uint64), ("stx_blocks", ctypes.c_uint64), ("stx_attributes_mask", ctypes.c_uint64),
        ("stx_atime", _StatxTimestamp), ("stx_btime", _StatxTimestamp), ("stx_ctime", _StatxTimestamp),
        ("stx_mtime", _StatxTimestamp), ("_rest", ctypes.c_uint8 * 128),
    ]


_statx = None
if sys.platform.startswith("linux"):
    try:
        # The interpreter's own symbols include libc's; ctypes.util.find_library would spawn
        # ldconfig in every worker process (0.15 s each, far more under load).
        _libc = ctypes.CDLL(None, use_errno=True)
        _statx = _libc.statx  # glibc 2.28+
        _statx.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_Statx)]
        _statx.restype = ctypes.c_int
    except (OSError, AttributeError):
        _statx = None


def birth_time(path: bytes | str, st: os.stat_result | None = None) -> float | None:
    """Seconds since the epoch when the file was created, or None when the file system
    (or the platform) did not record it. Symlinks are not followed."""
    bt = getattr(st, "st_birthtime", None) if st is not None else None
    if bt:
        return float(bt)
    if _statx is None:
        return None
    buf = _Statx()
    raw = os.fsencode(path)
    if _statx(_AT_FDCWD, raw, _AT_SYMLINK_NOFOLLOW, _STATX_BTIME, ctypes.byref(buf)) != 0:
        return None
    if not buf.stx_mask & _STATX_BTIME or (buf.stx_btime.tv_sec == 0 and buf.stx_btime.tv_nsec == 0):
        return None
    return buf.stx_btime.tv_sec + buf.stx_btime.tv_nsec / 1e9
