"""Evidence paths of any length. Paths beyond what one system call takes (PATH_MAX,
4,096 bytes on Linux) are reached through directory file descriptors, one component at
a time, never following a symbolic link inside the evidence."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# Paths shorter than this go to the system call as they are.
DIRECT_MAX = 3072
_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@contextmanager
def parent(path: bytes) -> Iterator[tuple[int | None, bytes]]:
    """(dir_fd, name) for `path`: dir_fd None (and the whole path) when it is short enough,
    else an open descriptor of its folder, reached component by component, and the last name."""
    if len(path) < DIRECT_MAX:
        yield None, path
        return
    head, _, name = path.rstrip(b"/").rpartition(b"/")
    # The longest leading part that fits is opened directly (as the examiner named it);
    # the rest one component at a time, never following a link.
    cut = head.rfind(b"/", 0, DIRECT_MAX)
    start, rest = (head[:cut] or b"/", head[cut + 1:]) if cut > 0 else (b"/" if head.startswith(b"/") else b".", head)
    fd = os.open(start, _DIR)
    try:
        for comp in rest.split(b"/"):
            if not comp:
                continue
            nfd = os.open(comp, _DIR | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nfd
        yield fd, name
    finally:
        os.close(fd)


def lstat(path: bytes) -> os.stat_result:
    with parent(path) as (fd, name):
        return os.stat(name, dir_fd=fd, follow_symlinks=False)


def readlink(path: bytes) -> bytes:
    with parent(path) as (fd, name):
        return os.readlink(name, dir_fd=fd)


def open_fd(path: bytes, flags: int) -> int:
    """os.open for a path of any length."""
    with parent(path) as (fd, name):
        return os.open(name, flags, dir_fd=fd)


def open_dir(path: bytes) -> int:
    """A descriptor of the folder `path` (not following a link at its end)."""
    return open_fd(path, _DIR | _NOFOLLOW)
