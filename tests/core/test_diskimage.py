"""Disk images as evidence: E01 and raw (single and split), MBR and GPT, FAT16, ext4 and NTFS,
built with the standard tools (no mounting); deleted files, verification, errors, resume."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forensics.case import Case
from forensics.clock import parse_time, utc_now
from forensics.ingest.pipeline import IngestOptions
import diskimages as di
from kill_runs import assert_one_record_per_file, kill_runs


@pytest.fixture(scope="module")
def evidence(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("evidence") / "files"
    return folder, di.evidence_files(folder)


@pytest.fixture(scope="module")
def fat_e01(tmp_path_factory, evidence) -> tuple[Path, list[Path]]:
    d = tmp_path_factory.mktemp("fat")
    raw = di.fat_mbr_disk(d / "disk.raw", evidence[1])
    segs = di.to_e01(raw, d / "disk")
    return raw, segs


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _by_path(case: Case, source_id: int) -> dict[str, dict]:
    return {i["relpath"]: i for i in case.items(include_frames=False) if i["source_id"] == source_id}


def _faces(case: Case, item_id: int) -> list[tuple]:
    return [tuple(r) for r in case.store.query(
        "SELECT box_top, box_right, box_bottom, box_left, embedding FROM faces WHERE item_id = ? ORDER BY id", (item_id,))]


def test_e01_same_results_as_folder_deleted_file_and_stored_hash(new_case, evidence, fat_e01):
    folder, files = evidence
    raw, segs = fat_e01
    assert len(segs) > 1  # split E01/E02... segments
    s = new_case.ingest([folder, segs[0]], IngestOptions(workers=1, faces=True))
    assert s.failed == 0
    src = {x["kind"]: x for x in new_case.sources()}
    img = src["image"]["image"]
    assert img["format"] == "ewf" and len(img["segments"]) == len(segs)
    assert img["stored_md5"] == hashlib.md5(raw.read_bytes()).hexdigest()
    assert img["media_md5"] == img["stored_md5"] and img["hash_status"] == "verified"
    assert img["acquisition"]["case_number"] == "CASE-15"
    assert [v["label"] for v in img["volumes"]] == ["partition 1 (FAT16)"]

    host = {i["relpath"]: i for i in new_case.items(include_frames=False) if i["source_id"] == src["folder"]["id"]}
    inside = _by_path(new_case, src["image"]["id"])
    photo, photo_img = host["DCIM/IMG_0001.JPG"], inside["partition 1 (FAT16)/DCIM/IMG_0001.JPG"]
    for k in ("md5", "sha1", "sha256", "size", "phash", "dhash", "width", "height", "camera_model", "taken_time",
              "gps_lat", "mime", "kind"):
        assert photo_img[k] == photo[k], k
    assert _faces(new_case, photo_img["id"]) == _faces(new_case, photo["id"]) and _faces(new_case, photo["id"])
    assert "fs_local_time" in photo_img["flags"] and photo_img["mtime_utc"]
    # FAT records a creation time (local time, like its other times); mcopy sets it to the copy's time
    assert abs((parse_time(photo_img["btime_utc"]) - parse_time(photo_img["mtime_utc"])).total_seconds()) <= 2
    assert new_case.item_location(photo_img["id"])["crtime_utc"] == photo_img["btime_utc"]

    nested = inside["partition 1 (FAT16)/DCIM/2024/MAY/IMG_0002.JPG"]
    assert nested["sha256"] == _sha256(files["DCIM/2024/MAY/IMG_0002.JPG"]) and nested["phash"]
    video = inside["partition 1 (FAT16)/VIDEO/CLIP.MP4"]
    assert video["kind"] == "video" and video["codec"] == "h264" and video["sha256"] == _sha256(files["VIDEO/CLIP.MP4"])
    assert len(new_case.frames(video["id"])) == len(new_case.frames(host["VIDEO/CLIP.MP4"]["id"])) >= 2

    (deleted,) = [i for i in inside.values() if "deleted" in i["flags"]]
    assert deleted["relpath"].endswith("ELETED.JPG")  # FAT overwrites the first letter of a deleted name
    assert deleted["sha256"] == _sha256(files["DELETED.JPG"]) and deleted["kind"] == "image"
    assert "may_be_overwritten" not in deleted["flags"]
    assert new_case.item_location(deleted["id"])["allocated"] is False
    assert new_case.item_path_display(deleted).startswith(str(segs[0]) + " :: partition 1 (FAT16)/")

    from forensics.browse import ItemFilter, item_ids

    assert item_ids(new_case.ctx, ItemFilter(deleted=True)) == [deleted["id"]]
    from forensics.report.selection import resolve

    assert resolve(new_case.reports.src, "deleted").item_ids == (deleted["id"],)
    with new_case.open_item(nested["id"]) as f:  # the one evidence opener reads through the image
        assert hashlib.sha256(f.read()).hexdigest() == nested["sha256"]

    again = new_case.ingest([segs[0]], IngestOptions(workers=1))
    assert again.added == 0 and again.skipped == len(inside)


def test_verify_reads_through_the_image_and_catches_a_flipped_byte(new_case, evidence, fat_e01, tmp_path):
    import shutil

    segs = []
    for p in fat_e01[1]:
        segs.append(tmp_path / p.name)
        shutil.copy(p, segs[-1])
    new_case.ingest([segs[0]], IngestOptions(workers=1))
    ok = new_case.verify()
    assert ok["status"] == "intact" and ok["ok"] >= 4 and ok["images"][0]["status"] == "ok"
    photo = evidence[1]["DCIM/IMG_0001.JPG"].read_bytes()
    di.flip_byte_in(segs, photo[len(photo) // 2: len(photo) // 2 + 64])
    bad = new_case.verify()
    assert bad["status"] != "intact"
    assert bad["images"][0]["status"] in ("changed", "unreadable")
    (problem,) = [p for p in bad["problems"] if p["path"].endswith("DCIM/IMG_0001.JPG")]
    assert problem["status"] in ("changed", "unreadable") and " :: partition 1 (FAT16)/" in problem["path"]


def _second(t: str) -> str:
    return t[:19]  # file systems keep whole seconds (ext4 without nanoseconds) or finer


def test_ext4_gpt_split_raw_with_unknown_partition(new_case, evidence, tmp_path):
    folder, files = evidence
    built = utc_now()
    raw = di.ext4_gpt_disk(tmp_path / "disk.dd", folder)
    parts = di.split_raw(raw)
    assert len(parts) > 1
    s = new_case.ingest([parts[0]], IngestOptions(workers=2))
    (src,) = new_case.sources()
    assert src["image"]["format"] == "raw" and src["image"]["media_size"] == raw.stat().st_size
    assert src["image"]["media_sha256"] == _sha256(raw) and src["image"]["hash_status"] == "no_stored_hash"
    errs = [e for e in src["errors"] if e["stage"] == "filesystem"]
    assert len(errs) == 1 and "partition 2" in errs[0]["message"] and "no file system" in errs[0]["message"]
    inside = _by_path(new_case, src["id"])
    p = "partition 1 (EXT4)/"
    for rel in ("DCIM/IMG_0001.JPG", "DCIM/2024/MAY/IMG_0002.JPG", "VIDEO/CLIP.MP4"):
        assert inside[p + rel]["sha256"] == _sha256(files[rel]) and "deleted" not in inside[p + rel]["flags"]
    deleted = inside[p + "DELETED.JPG"]
    assert "deleted" in deleted["flags"] and deleted["sha256"] == _sha256(files["DELETED.JPG"])
    assert deleted["phash"] and s.failed == 0
    # ext4's 256-byte inodes keep the creation time (crtime): when mke2fs -d wrote the file, in UTC
    btime = inside[p + "DCIM/2024/MAY/IMG_0002.JPG"]["btime_utc"]
    assert btime and _second(built) <= _second(btime) <= _second(utc_now()) and btime.endswith("Z")
    loc = new_case.item_location(deleted["id"])
    assert loc["fs_type"] == "EXT4" and loc["part_offset"] == 2048 * 512 and loc["inode"] > 0
    assert loc["path_in_image"] == "DELETED.JPG"


def test_ntfs_alternate_stream_resident_file_and_deleted_entry(new_case, evidence, tmp_path):
    built = utc_now()
    vol, entry = di.ntfs_volume(tmp_path / "ntfs.img", evidence[1])
    new_case.ingest([vol], IngestOptions(workers=1))
    (src,) = new_case.sources()
    inside = _by_path(new_case, src["id"])
    p = "file system (NTFS)/"
    ads = inside[p + "note.txt:hidden"]
    assert ads["kind"] == "image" and ads["sha256"] == _sha256(evidence[1]["DCIM/2024/MAY/IMG_0002.JPG"])
    assert inside[p + "note.txt"]["sha256"] == hashlib.sha256(b"meeting at 10\n").hexdigest()  # resident $DATA
    assert new_case.item_location(ads["id"])["attr_id"] != new_case.item_location(inside[p + "note.txt"]["id"])["attr_id"]
    assert inside[p + "IMG_0001.JPG"]["phash"] and inside[p + "CLIP.MP4"]["kind"] == "video"
    deleted = inside[p + "DELETED.JPG"]
    assert "deleted" in deleted["flags"] and deleted["sha256"] == _sha256(evidence[1]["DELETED.JPG"])
    assert new_case.item_location(deleted["id"])["inode"] == entry
    nested = inside[p + "DCIM/2024/MAY/IMG_0002.JPG"]
    assert nested["sha256"] == _sha256(evidence[1]["DCIM/2024/MAY/IMG_0002.JPG"]) and nested["phash"]
    loc = new_case.item_location(nested["id"])
    assert loc["path_in_image"] == "DCIM/2024/MAY/IMG_0002.JPG" and loc["partition"] == "file system (NTFS)"
    # NTFS keeps a creation time ($STANDARD_INFORMATION, 100 ns, UTC): when ntfscp wrote the file
    assert _second(built) <= _second(nested["btime_utc"]) <= _second(utc_now())
    assert loc["crtime_utc"] == nested["btime_utc"] and nested["btime_utc"] != inside[p + "note.txt"]["btime_utc"]


def test_bad_images_give_clear_errors_and_the_rest_is_ingested(new_case, evidence, fat_e01, tmp_path):
    raw = fat_e01[0]
    truncated = tmp_path / "truncated.raw"
    truncated.write_bytes(raw.read_bytes()[: di.MIB + 100 * 1024])  # cut inside the first photo
    broken_e01 = tmp_path / "broken.E01"
    broken_e01.write_bytes(fat_e01[1][0].read_bytes()[:600])
    noise = tmp_path / "noise.img"
    noise.write_bytes(os.urandom(di.MIB))
    s = new_case.ingest([truncated, broken_e01, noise, evidence[0]], IngestOptions(workers=1))
    by = {Path(x["path"]).name: x for x in new_case.sources()}
    assert [e["stage"] for e in by["broken.E01"]["errors"]] == ["image"], (by["broken.E01"]["image"], by["broken.E01"]["errors"])
    assert any("no partition table and no file system" in e["message"] for e in by["noise.img"]["errors"])
    assert by["files"]["files"] == 4  # the folder is still ingested
    trunc = [i for i in new_case.items(include_frames=False) if i["source_id"] == by["truncated.raw"]["id"]]
    assert trunc and any(i["status"] == "error" or "short_read" in i["flags"] for i in trunc)
    assert any("looks truncated" in e["message"] for e in by["truncated.raw"]["errors"])
    assert s.added >= 4
    from forensics.commands.core import _info_text

    text = _info_text(new_case.stats())
    assert "ERROR (image)" in text and "no partition table" in text


def test_killed_mid_image_resumes_with_one_record_per_file(tmp_path):
    from PIL import Image

    import numpy as np

    files = tmp_path / "many"
    files.mkdir()
    rng = np.random.default_rng(3)
    for i in range(300):
        Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(files / f"img_{i:04d}.jpg", quality=80)
    di.need_tools("mke2fs")
    image = tmp_path / "many.img"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(files), str(image), "16M"], check=True)
    case_dir = tmp_path / "case"
    Case.create(case_dir, name="K", number="K-1", examiner="T", authority="Order 7").close()
    cmd = [sys.executable, "-m", "forensics.cli", "ingest", str(case_dir), str(image), "--workers", "2", "--no-faces"]
    case = Case.open(case_dir)
    kill_runs(cmd, lambda: case.store.scalar("SELECT COUNT(*) FROM items") or 0, tries=1, grow=30)
    partial = case.store.scalar("SELECT COUNT(*) FROM items")
    assert 0 < partial < 300, partial
    s = case.ingest([image], IngestOptions(workers=2))
    assert s.skipped == partial and s.added == 300 - partial
    assert_one_record_per_file(case.store, 300)
    assert case.store.scalar("SELECT COUNT(*) FROM item_image_refs") == 300
    for r in case.store.query("SELECT relpath, sha256 FROM items"):
        assert r[1] == _sha256(files / r[0].split("/", 1)[1])
    case.close()


def test_acquisition_hash_mismatch_is_flagged_in_info_and_report(new_case, evidence, fat_e01, tmp_path):
    import shutil

    segs = [Path(shutil.copy(p, tmp_path / p.name)) for p in fat_e01[1]]
    photo = evidence[1]["DCIM/2024/MAY/IMG_0002.JPG"].read_bytes()
    di.flip_byte_in(segs, photo[100:164])  # altered after acquisition, before ingest
    new_case.ingest([segs[0]], IngestOptions(workers=1))
    (src,) = new_case.sources()
    assert src["hash_mismatch"] and src["image"]["hash_status"] == "mismatch"
    assert any(e["stage"] == "hash" and "does not match" in e["message"] for e in src["errors"])
    from forensics.commands.core import _info_text
    from forensics.diskimage.sources import source_alerts

    assert "ACQUISITION HASH MISMATCH" in _info_text(new_case.stats())
    assert any("MISMATCH" in a for a in source_alerts(new_case.store))
    out = new_case.export_report(tmp_path / "r.html", selection="all")
    html = Path(out["path"]).read_text()
    assert "ACQUISITION HASH MISMATCH" in html and "partition 1 (FAT16)/DCIM/2024/MAY/IMG_0002.JPG" in html


def test_deleted_file_whose_clusters_were_reused_is_flagged(new_case, tmp_path):
    di.need_tools("mkfs.vfat", "mcopy", "mmd", "mdel")
    old, new = tmp_path / "old.bin", tmp_path / "new.bin"
    old.write_bytes(b"the deleted content " * 800)
    new.write_bytes(os.urandom(16000))
    img = tmp_path / "reuse.img"
    with open(img, "wb") as f:
        f.truncate(4 * di.MIB)
    for cmd in (["mkfs.vfat", str(img)], ["mmd", "-i", str(img), "::/sub"], ["mcopy", "-i", str(img), str(old), "::/old.bin"],
                ["mdel", "-i", str(img), "::/old.bin"], ["mcopy", "-i", str(img), str(new), "::/sub/new.bin"]):
        subprocess.run(cmd, check=True, capture_output=True)
    new_case.ingest([img], IngestOptions(workers=1))
    items = {i["relpath"].rsplit("/", 1)[-1]: i for i in new_case.items(include_frames=False)}
    gone = items["_LD.BIN"] if "_LD.BIN" in items else items["_ld.bin"]
    assert {"deleted", "may_be_overwritten"} <= set(gone["flags"])
    assert any("now belong to an allocated file" in e["message"] for e in gone["errors"])
    assert "deleted" not in items["new.bin"]["flags"]
