"""Discovery inside a disk image: the volume system (MBR, GPT, ... or a bare file system),
then every file of every file system TSK recognises, deleted entries included.

Each file becomes an `Entry` with its in-image path and an `ImageRef`; problems that stop a
part of the image from being read (no partition table and no file system, a partition with
an unknown file system, a directory that cannot be listed) are reported, and the walk goes on.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from forensics.diskimage.images import ImageError
from forensics.diskimage.tsk import ImageRef, _tsk_msg, fs_type_name, image_handle, open_fs, tsk_time

_LOCAL_TIME_FS = ("FAT12", "FAT16", "FAT32", "EXFAT", "ISO9660")  # times stored without a zone


@dataclass(frozen=True)
class Entry:
    relpath: bytes  # 'partition 1 (FAT16)/DCIM/IMG_0001.JPG'; unique within the image
    ref: ImageRef | None  # None for a directory that could not be listed
    kind: str = "file"  # file | symlink | special | unreadable_dir


@dataclass
class ImageWalk:
    """Walks one image; `volumes` and `errors` fill in as `entries()` is consumed."""

    fmt: str
    segments: tuple[str, ...]
    volumes: list[dict] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (stage, message) for the source
    unreachable_deleted: int = 0  # deleted names whose metadata is gone: nothing to read

    def entries(self) -> Iterator[Entry]:
        import pytsk3

        try:
            img, lock = image_handle(self.fmt, self.segments)
        except ImageError as exc:
            self.errors.append(("image", str(exc)))
            return
        try:
            with lock:
                vs = pytsk3.Volume_Info(img)
        except OSError:
            vs = None
        if vs is None:
            yield from self._fs(0, "file system", None)
            if not self.volumes[-1].get("fs_type"):
                self.errors.append(("volume", "no partition table and no file system TSK recognises"))
            return
        block = vs.info.block_size
        n = 0
        parts = []
        with lock:
            for part in vs:
                if int(part.flags) & pytsk3.TSK_VS_PART_FLAG_ALLOC:
                    parts.append((int(part.start), int(part.len), part.desc.decode("utf-8", "replace")))
        size = img.get_size()
        for start, length, desc in parts:
            n += 1
            if (start + length) * block > size:
                self.errors.append(("volume", f"partition {n} ({desc}) ends at byte {(start + length) * block:,} but the"
                                    f" image holds only {size:,} bytes: the image looks truncated, files beyond its end"
                                    " cannot be read"))
            yield from self._fs(start * block, f"partition {n}", {"index": n, "start_sector": start,
                                                                  "sectors": length, "description": desc})
            vol = self.volumes[-1]
            if not vol.get("fs_type"):
                self.errors.append(("filesystem", f"partition {n} ({desc}, sector {start}, {length} sectors):"
                                    f" {vol['error']}"))

    def _fs(self, offset: int, label: str, part: dict | None) -> Iterator[Entry]:
        vol = dict(part or {}, offset=offset)
        self.volumes.append(vol)
        try:
            fs, lock = open_fs(self.fmt, self.segments, offset)
        except ImageError as exc:
            vol["error"] = "no file system TSK recognises"
            return
        fs_type = fs_type_name(int(fs.info.ftype))
        vol.update(fs_type=fs_type, label=f"{label} ({fs_type})")
        yield from _FsWalk(self, fs, lock, offset, f"{label} ({fs_type})", fs_type).walk()


class _FsWalk:
    def __init__(self, owner: ImageWalk, fs, lock, offset: int, label: str, fs_type: str) -> None:
        self.owner, self.fs, self.lock = owner, fs, lock
        self.offset, self.label, self.fs_type = offset, label, fs_type
        self.used: list[tuple[int, int]] = []  # block runs of allocated files, to judge deleted ones
        self.deleted: list[tuple[Entry, list[tuple[int, int]]]] = []
        self.seen_paths: set[bytes] = set()
        self.seen_inodes: set[int] = set()

    def walk(self) -> Iterator[Entry]:
        import pytsk3

        root = int(self.fs.info.root_inum)
        stack: list[tuple[int, bytes]] = [(root, b"")]
        dirs = {root}
        orphans: list[tuple[int, bytes]] = []
        while stack or orphans:
            inum, rel = stack.pop() if stack else orphans.pop()
            try:
                with self.lock:
                    listing = [(f.info.name, f.info.meta, f) for f in self.fs.open_dir(inode=inum)]
            except OSError as exc:
                yield Entry(self._unique(rel or b"."), None, "unreadable_dir")
                self.owner.errors.append(("filesystem", f"{self.label}/{rel.decode('utf-8', 'replace')}:"
                                          f" directory cannot be listed: {_tsk_msg(exc)}"))
                continue
            listing.sort(key=lambda t: t[0].name)
            subdirs = []
            for name, meta, f in listing:
                nm = name.name
                if nm in (b".", b".."):
                    continue
                path = rel + b"/" + nm if rel else nm
                stale = False
                if meta is None:
                    f, meta = self._by_address(int(name.meta_addr))
                    if meta is None:
                        self.owner.unreachable_deleted += not int(name.flags) & pytsk3.TSK_FS_NAME_FLAG_ALLOC
                        continue
                    stale = True
                mtype = int(meta.type)
                if mtype in (pytsk3.TSK_FS_META_TYPE_DIR, pytsk3.TSK_FS_META_TYPE_VIRT_DIR):
                    if int(meta.addr) not in dirs:
                        dirs.add(int(meta.addr))
                        # $OrphanFiles last, so a file found through its directory is named by that path
                        (orphans if mtype == pytsk3.TSK_FS_META_TYPE_VIRT_DIR else subdirs).append((int(meta.addr), path))
                    continue
                if mtype == pytsk3.TSK_FS_META_TYPE_VIRT or nm.endswith(b"(Volume Label Entry)"):
                    continue  # $MBR, $FAT1, the FAT label: TSK's views of file-system structures, not files
                in_orphans = rel.startswith(b"$OrphanFiles")
                if in_orphans and int(meta.addr) in self.seen_inodes:
                    continue
                self.seen_inodes.add(int(meta.addr))
                try:
                    entries = list(self._file(path, name, meta, f, mtype, stale))
                except Exception as exc:  # a damaged entry (attribute list, run list): skip it, say so
                    self.owner.errors.append(("filesystem", f"{self.label}/{path.decode('utf-8', 'replace')}: entry"
                                              f" {int(meta.addr)} cannot be read: {_tsk_msg(exc)}"))
                    continue
                yield from entries
            stack.extend(reversed(subdirs))
        yield from self._judge_deleted()

    def _by_address(self, addr: int):
        """A name TSK would not pair with its metadata (deleted entry, or the metadata marked
        free while the name survives): the metadata entry itself, if it still holds a file."""
        import pytsk3

        if not addr:
            return None, None
        try:
            with self.lock:
                f = self.fs.open_meta(inode=addr)
        except OSError:
            return None, None
        meta = f.info.meta
        if meta is None or int(meta.type) != pytsk3.TSK_FS_META_TYPE_REG:
            return None, None
        return f, meta

    def _file(self, path: bytes, name, meta, f, mtype: int, stale: bool = False) -> Iterator[Entry]:
        import pytsk3

        name_alloc = bool(int(name.flags) & pytsk3.TSK_FS_NAME_FLAG_ALLOC)
        meta_alloc = bool(int(meta.flags) & pytsk3.TSK_FS_META_FLAG_ALLOC)
        allocated = name_alloc and meta_alloc and not stale
        flags: list[str] = []
        notes: list[tuple[str, str]] = []
        if stale:
            notes.append(("deleted", "the directory entry and its metadata entry no longer agree (freed or reused"
                          " metadata): read from the metadata entry the name points to"))
        if self.fs_type in _LOCAL_TIME_FS:
            flags.append("fs_local_time")
        kind = "file" if mtype == pytsk3.TSK_FS_META_TYPE_REG else "symlink" if mtype == pytsk3.TSK_FS_META_TYPE_LNK else "special"
        if not allocated:
            flags.append("deleted")
            if not name_alloc and meta_alloc:
                flags.append("may_be_overwritten")
                notes.append(("deleted", "deleted name whose metadata entry is in use again: the content shown"
                              " may belong to a later file"))
        base = ImageRef(
            self.owner.fmt, self.owner.segments, self.label, self.offset, self.fs_type, int(meta.addr),
            size=max(int(meta.size), 0), allocated=allocated,
            mtime=tsk_time(meta.mtime, getattr(meta, "mtime_nano", 0)), atime=tsk_time(meta.atime, getattr(meta, "atime_nano", 0)),
            ctime=tsk_time(meta.ctime, getattr(meta, "ctime_nano", 0)), crtime=tsk_time(meta.crtime, getattr(meta, "crtime_nano", 0)),
            flags=tuple(flags), notes=tuple(notes))
        streams = self._streams(f) if self.fs_type == "NTFS" and kind == "file" else [(None, None, None, base.size, *self._runs_of(f))]
        for attr_type, attr_id, sname, size, runs, resident in streams:
            rel = self.label.encode() + b"/" + path + (b":" + sname if sname else b"")
            ref = replace(base, attr_type=attr_type, attr_id=attr_id, size=size)
            entry = Entry(self._unique(rel, int(meta.addr)), ref, kind)
            if allocated:
                self.used.extend(runs)
                yield entry
            else:
                self.deleted.append((entry, runs, resident or size == 0))

    def _streams(self, f) -> list[tuple]:
        """NTFS $DATA attributes: the unnamed one is the file, named ones are alternate data streams."""
        import pytsk3

        out = []
        with self.lock:
            for a in f:
                if int(a.info.type) != pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA:
                    continue
                out.append((int(a.info.type), int(a.info.id), a.info.name or None, int(a.info.size), *_runs(a)))
        return out or [(None, None, None, 0, [], True)]

    def _runs_of(self, f) -> tuple[list[tuple[int, int]], bool]:
        with self.lock:
            runs, resident = [], False
            for a in f:
                r, res = _runs(a)
                runs += r
                resident |= res and int(a.info.size) > 0
            return runs, resident

    def _unique(self, rel: bytes, inode: int | None = None) -> bytes:
        if rel in self.seen_paths:  # e.g. a deleted entry with the name of a live file
            cand, n = rel + f" [entry {inode}]".encode(), 2
            while cand in self.seen_paths:
                cand, n = rel + f" [entry {inode} #{n}]".encode(), n + 1
            rel = cand
        self.seen_paths.add(rel)
        return rel

    def _judge_deleted(self) -> Iterator[Entry]:
        """Deleted files last: only after every live file's blocks are known can a deleted
        file whose blocks now belong to a live file be flagged."""
        used = _merge(self.used)
        starts = [s for s, _ in used]
        for entry, runs, located in self.deleted:
            ref = entry.ref
            flags, notes = list(ref.flags), list(ref.notes)
            reused = any(_overlaps(used, starts, s, e) for s, e in runs)
            if "may_be_overwritten" not in flags:
                if reused:
                    flags.append("may_be_overwritten")
                    notes.append(("deleted", "some of this deleted file's blocks now belong to an allocated file:"
                                  " its content is partly or wholly overwritten"))
                elif not runs and not located:
                    flags.append("may_be_overwritten")
                    notes.append(("deleted", "no block addresses survive for this deleted file: its content"
                                  " cannot be located"))
            yield replace(entry, ref=replace(ref, flags=tuple(flags), notes=tuple(notes)))


def _runs(a) -> tuple[list[tuple[int, int]], bool]:
    """The block runs of an attribute, and whether it is resident (stored in the metadata
    entry itself, as small NTFS files are), so has no blocks to lose."""
    import pytsk3

    if not int(a.info.flags) & pytsk3.TSK_FS_ATTR_NONRES:
        return [], True
    skip = pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE | pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER
    return [(int(r.addr), int(r.addr) + int(r.len)) for r in a if int(r.len) > 0 and not int(r.flags) & skip], False


def _merge(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(runs):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _overlaps(used: list[tuple[int, int]], starts: list[int], s: int, e: int) -> bool:
    i = bisect.bisect_right(starts, s) - 1
    for j in (i, i + 1):
        if 0 <= j < len(used) and used[j][0] < e and s < used[j][1]:
            return True
    return False
