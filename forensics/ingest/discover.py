"""Walk evidence sources without following links or opening special files."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from forensics.ingest.records import FileTask


def walk_source(source_id: int, root: bytes) -> Iterator[FileTask]:
    """Every entry under `root` as a FileTask, in a stable order. Symbolic links are recorded,
    never followed (so link loops cannot trap the walk); FIFOs, sockets and devices are
    recorded, never opened; folders that cannot be listed are recorded as errors."""
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
            with os.scandir(here) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            yield FileTask(source_id, root, rel, "unreadable_dir")
            continue
        subdirs = []
        for e in entries:
            erel = os.path.join(rel, e.name) if rel else e.name
            try:
                mode = e.stat(follow_symlinks=False).st_mode
            except OSError:
                yield FileTask(source_id, root, erel, "file")  # the worker records why
                continue
            if stat.S_ISDIR(mode):
                subdirs.append(erel)
            else:
                yield FileTask(source_id, root, erel, _kind(mode))
        stack.extend(reversed(subdirs))


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    return "special"
