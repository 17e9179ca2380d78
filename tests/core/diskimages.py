"""Build small real disk images with the standard tools, never mounting anything.

Every image holds the same evidence: a photo with a face (the astronaut, from the bundled
sample material), a video, a file in a nested folder, and a deleted file whose content is
still intact. FAT16 in an MBR partition (mkfs.vfat + mtools), ext4 in a GPT partition beside
a partition of noise (mke2fs -d + debugfs), NTFS as a bare file system (mkntfs + ntfscp, folders through
ntfs-3g's library, with an alternate data stream and a resident file), E01 from any of them (ewfacquire).
"""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

MIB = 1 << 20
TOOLS = ("mkfs.vfat", "mcopy", "mmd", "mdel", "mke2fs", "debugfs", "sfdisk", "mkntfs", "ntfscp", "ewfacquire")


def need_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"disk-image tools missing: {', '.join(missing)} (.ci/run installs them with apt-get)")


def _run(*cmd: str, **kw) -> None:
    subprocess.run(list(cmd), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def evidence_files(folder: Path) -> dict[str, Path]:
    """The evidence every image holds, also as a plain folder (for the folder-vs-image check)."""
    from sample_cases.build import _exif, _jpeg, _scene, _video, astronaut

    folder.mkdir(parents=True, exist_ok=True)
    astro = astronaut()
    files = {
        "DCIM/IMG_0001.JPG": _jpeg(astro, 92, _exif("Apple", "iPhone 12", "2024:03:14 09:26:53", 28.5729, -80.6490)),
        "DCIM/2024/MAY/IMG_0002.JPG": _jpeg(_scene(3), 88),
        "DELETED.JPG": _jpeg(_scene(7, (640, 480)), 85),
    }
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    (folder / "VIDEO").mkdir(exist_ok=True)
    _video(folder / "VIDEO" / "CLIP.MP4", astro.resize((256, 256)), seconds=2.0)
    out = {rel: folder / rel for rel in files}
    out["VIDEO/CLIP.MP4"] = folder / "VIDEO" / "CLIP.MP4"
    return out


def fat_mbr_disk(path: Path, files: dict[str, Path], size_mib: int = 12) -> Path:
    """An MBR disk with one FAT16 partition at sector 2048; DELETED.JPG is copied, then deleted."""
    need_tools("mkfs.vfat", "mcopy", "mmd", "mdel", "sfdisk")
    with open(path, "wb") as f:
        f.truncate(size_mib * MIB)
    _run("sfdisk", "-q", str(path), input=b"label: dos\nstart=2048, type=6\n")
    blocks = (size_mib * MIB - 2048 * 512) // 1024
    _run("mkfs.vfat", "-F", "16", "-n", "EVIDENCE", "--offset", "2048", str(path), str(blocks))
    img = f"{path}@@{2048 * 512}"
    dirs = sorted({str(Path(rel).parent) for rel in files if "/" in rel} | {"DCIM"})
    for d in sorted({p for d in dirs for p in _parents(d)}):
        _run("mmd", "-i", img, f"::/{d}")
    for rel, src in files.items():
        _run("mcopy", "-i", img, str(src), f"::/{rel}")
    _run("mdel", "-i", img, "::/DELETED.JPG")
    return path


def _parents(d: str) -> list[str]:
    parts = d.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def ext4_gpt_disk(path: Path, folder: Path, size_mib: int = 16) -> Path:
    """A GPT disk: partition 1 ext4 built from `folder` (then DELETED.JPG removed with debugfs),
    partition 2 filled with noise (no file system any tool recognises)."""
    need_tools("mke2fs", "debugfs", "sfdisk")
    fs = path.with_suffix(".ext4")
    fs_mib = size_mib - 6
    _run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", str(folder), str(fs), f"{fs_mib}M")
    _run("debugfs", "-w", "-R", "rm /DELETED.JPG", str(fs))
    with open(path, "wb") as f:
        f.truncate(size_mib * MIB)
    p1, p2 = 2048, 2048 + fs_mib * 2048
    _run("sfdisk", "-q", str(path), input=f"label: gpt\nstart={p1}, size={fs_mib * 2048}, type=linux\n"
         f"start={p2}, size=4096, type=linux\n".encode())
    import random

    with open(path, "r+b") as f:
        f.seek(p1 * 512)
        f.write(fs.read_bytes())
        f.seek(p2 * 512)
        f.write(random.Random(5).randbytes(2 * MIB))
    fs.unlink()
    return path


def ntfs_volume(path: Path, files: dict[str, Path], size_mib: int = 12) -> tuple[Path, int]:
    """A bare NTFS file system (no partition table): the first photo, the video and
    DELETED.JPG at the root, the second photo in the nested folder DCIM/2024/MAY (made by
    ntfs-3g's library, see `_ntfs_mkdirs`), a resident text file carrying the second photo
    as an alternate data stream, and DELETED.JPG deleted by clearing its MFT entry's in-use
    flag (what NTFS does on delete; the directory index entry is left as a stale name).
    Returns the image and the deleted file's MFT entry number."""
    need_tools("mkntfs", "ntfscp")
    with open(path, "wb") as f:
        f.truncate(size_mib * MIB)
    _run("mkntfs", "-F", "-q", "-Q", "-s", "512", "-c", "4096", str(path))
    note = path.parent / "note.txt"
    note.write_text("meeting at 10\n")
    _run("ntfscp", str(path), str(note), "/note.txt")
    _run("ntfscp", "-N", "hidden", str(path), str(files["DCIM/2024/MAY/IMG_0002.JPG"]), "/note.txt")
    for rel in ("DCIM/IMG_0001.JPG", "VIDEO/CLIP.MP4", "DELETED.JPG"):
        _run("ntfscp", str(path), str(files[rel]), "/" + Path(rel).name)
    _ntfs_mkdirs(path, "DCIM/2024/MAY")
    _run("ntfscp", str(path), str(files["DCIM/2024/MAY/IMG_0002.JPG"]), "/DCIM/2024/MAY/IMG_0002.JPG")
    entry = _delete_ntfs_entry(path, "DELETED.JPG")
    return path, entry


def _ntfs_mkdirs(path: Path, folders: str) -> None:
    """Make nested folders in an NTFS image file without mounting it: ntfs-3g's own library
    (libntfs-3g, which ntfscp is built on) opens the volume in this process, and
    `ntfs_create(..., S_IFDIR)` adds each directory, as ntfs-3g's mkdir does."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("ntfs-3g")
    if name is None:
        pytest.skip("libntfs-3g (Debian's libntfs-3g89, installed with ntfs-3g) is missing")
    lib = ctypes.CDLL(name, use_errno=True)
    ptr = ctypes.c_void_p
    lib.ntfs_mount.restype, lib.ntfs_mount.argtypes = ptr, [ctypes.c_char_p, ctypes.c_ulong]
    lib.ntfs_pathname_to_inode.restype, lib.ntfs_pathname_to_inode.argtypes = ptr, [ptr, ptr, ctypes.c_char_p]
    lib.ntfs_mbstoucs.restype, lib.ntfs_mbstoucs.argtypes = ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(ptr)]
    lib.ntfs_create.restype = ptr
    lib.ntfs_create.argtypes = [ptr, ctypes.c_uint32, ptr, ctypes.c_uint8, ctypes.c_uint]
    lib.ntfs_inode_close.argtypes, lib.ntfs_ucsfree.argtypes = [ptr], [ptr]
    lib.ntfs_umount.argtypes = [ptr, ctypes.c_int]
    vol = lib.ntfs_mount(str(path).encode(), 0)  # 0: read-write; a library call, not a mount
    assert vol, f"libntfs-3g cannot open {path}: errno {ctypes.get_errno()}"
    try:
        parent = "/"
        for folder in folders.split("/"):
            dir_ni = lib.ntfs_pathname_to_inode(vol, None, parent.encode())
            assert dir_ni, f"{parent} not found in {path}"
            ucs = ptr()
            n = lib.ntfs_mbstoucs(folder.encode(), ctypes.byref(ucs))
            ni = lib.ntfs_create(dir_ni, 0, ucs, n, 0o040000)  # S_IFDIR; security id 0: a default descriptor
            lib.ntfs_ucsfree(ucs)
            assert ni, f"cannot make {parent}{folder} in {path}: errno {ctypes.get_errno()}"
            lib.ntfs_inode_close(ni)
            lib.ntfs_inode_close(dir_ni)
            parent = parent.rstrip("/") + "/" + folder
    finally:
        assert lib.ntfs_umount(vol, 0) == 0


def _delete_ntfs_entry(path: Path, name: str) -> int:
    import pytsk3

    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(path)))
    inode = next(int(f.info.meta.addr) for f in fs.open_dir(path="/") if f.info.name.name == name.encode())
    mft = fs.open_meta(inode=0)
    data = next(a for a in mft if int(a.info.type) == pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
    first = next(iter(data))
    offset = int(first.addr) * int(fs.info.block_size) + inode * 1024
    del fs, mft, data
    with open(path, "r+b") as f:
        f.seek(offset)
        assert f.read(4) == b"FILE"
        f.seek(offset + 0x16)
        (flags,) = struct.unpack("<H", f.read(2))
        f.seek(offset + 0x16)
        f.write(struct.pack("<H", flags & ~1))
    return inode


def to_e01(raw: Path, target: Path, segment_mib: int = 1) -> list[Path]:
    """ewfacquire, uncompressed (so segment boundaries fall inside the data), SHA-1 too."""
    need_tools("ewfacquire")
    _run("ewfacquire", "-u", "-q", "-t", str(target), "-f", "encase6", "-c", "none", "-d", "sha1",
         "-S", str(segment_mib * MIB), "-C", "CASE-15", "-e", "Examiner", "-E", "EV-1", "-D", "test disk",
         "-N", "built by tests", "-m", "fixed", "-M", "physical", str(raw))
    return sorted(target.parent.glob(target.name + ".E*"))


def split_raw(raw: Path, chunk_mib: int = 5) -> list[Path]:
    """raw -> raw.001, raw.002 ... (the usual split-dd naming)."""
    data = raw.read_bytes()
    out = []
    for i in range(0, len(data), chunk_mib * MIB):
        p = raw.with_name(f"{raw.name}.{i // (chunk_mib * MIB) + 1:03d}")
        p.write_bytes(data[i:i + chunk_mib * MIB])
        out.append(p)
    return out


def flip_byte_in(paths: list[Path], needle: bytes) -> Path:
    """Flip one byte where `needle` (taken from a file's content) lies in a segment."""
    for p in paths:
        data = p.read_bytes()
        at = data.find(needle)
        if at >= 0:
            with open(p, "r+b") as f:
                f.seek(at + len(needle) // 2)
                b = f.read(1)
                f.seek(at + len(needle) // 2)
                f.write(bytes([b[0] ^ 0xFF]))
            return p
    raise AssertionError("content not found in any segment")
