"""Walk evidence sources without following links or opening special files."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from forensics.ingest.records import FileTask
from forensics.media import fspath


def walk_source(source_id: int, root: bytes) -> Iterator[FileTask]:
    """Every entry under `root` as a FileTask, in a stable order. Symbolic links are recorded,
    never followed (so link loops cannot trap the walk); FIFOs, sockets and devices are
    recorded, never opened; folders that cannot be listed are recorded as errors. Folders
    are listed through descriptors, so a tree deeper than PATH_MAX is walked to the end."""
    try:
        st = os.lstat(root)
    except OSError as exc:
        yield FileTask(source_id, root, b"", "unreadable_dir" if exc.errno else "file")
        return
    if not stat.S_ISDIR(st.st_mode):
        yield FileTask(source_id, root, b"", _kind(st.st_mode))
        return
    stack: list[bytes] = [b""]
    while stack:
        rel = stack.pop()
        here = os.path.join(root, rel) if rel else root
        try:
            entries = _list(here, root, rel)
        except OSError:
            yield FileTask(source_id, root, rel, "unreadable_dir")
            continue
        subdirs = []
        for name, mode in entries:
            erel = os.path.join(rel, name) if rel else name
            if mode is None:
                yield FileTask(source_id, root, erel, "file")  # the worker records why
            elif stat.S_ISDIR(mode):
                subdirs.append(erel)
            else:
                yield FileTask(source_id, root, erel, _kind(mode))
        stack.extend(reversed(subdirs))


def _list(here: bytes, root: bytes, rel: bytes) -> list[tuple[bytes, int | None]]:
    """(name, lstat mode or None) of a folder's entries, sorted by name bytes."""
    fd = fspath.open_dir(here) if rel else os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    out: list[tuple[bytes, int | None]] = []
    try:
        with os.scandir(fd) as it:
            for e in it:
                try:
                    mode: int | None = e.stat(follow_symlinks=False).st_mode
                except OSError:
                    mode = None
                out.append((os.fsencode(e.name), mode))  # scandir(fd) names are str
    finally:
        os.close(fd)
    out.sort()
    return out


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    return "special"
