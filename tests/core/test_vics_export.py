"""VICS export read back with other tools' own reading rules (tests/core/vics_others.py):
IPED's HashDBTool and ProjectVICHashLookup, VIC-CatParser, GriffeyePS, the OData model."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from forensics.case import Case
from forensics.ingest.records import IngestOptions
from forensics.hashsets.vics_export import VICS13_MEDIA, VICS20_CASES, VICS20_MEDIA
from vics_others import (
    catparser_context, catparser_items, griffeye_media, iped_hashdb_read, iped_lookup_read, is_known_json, model_errors,
)

UPPER_HEX = re.compile(r"^[0-9A-F]+$")


def _clip(path: Path, seconds: float = 3.0, fps: int = 10) -> None:
    rng = np.random.default_rng(5)
    base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8).repeat(16, 0).repeat(20, 1)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = 160, 128, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(base, i, axis=1)), format="rgb24")
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """A case with categorised photos (one with a binary copy), a photo categorised by a
    hash-set match, an uncategorised photo, an empty file and a video with categorised
    frames; exported in all three forms."""
    root = tmp_path_factory.mktemp("vics_export")
    ev = root / "ev"
    (ev / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("a.jpg", "c.jpg", "d.jpg"):
        Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(ev / name, quality=90)
    Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(ev / "b.png")
    shutil.copy(ev / "a.jpg", ev / "sub" / "a copy.jpg")
    (ev / "empty.dat").write_bytes(b"")
    _clip(ev / "clip.mp4")
    os.chmod(ev / "d.jpg", 0o640)  # moves d.jpg's ctime (inode change) away from its birth time
    case = Case.create(root / "case", name="export", number="EX-14", examiner="Examiner E", authority="warrant 14")
    case.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    items = {Path(i["path"]).name: i for i in case.items(include_frames=False)}
    video = items["clip.mp4"]
    frames = case.frames(video["id"])
    assert len(frames) >= 3
    case.tag_items([items["a.jpg"]["id"]], category=1, add_tags=["series-x", "seen"], note="downloads")
    case.tag_items([items["b.png"]["id"]], category=3)
    late = [f for f in frames if f["frame_time"] >= 0.9]
    case.tag_items([late[0]["id"], late[1]["id"]], category=1)  # two neighbouring sampled frames
    # c.jpg gets its category from a distribution file: IsPrecategorized.
    dist = root / "dist.json"
    dist.write_text(json.dumps({"@odata.context": VICS20_MEDIA, "value": [
        {"MediaID": 1, "Category": 2, "MD5": items["c.jpg"]["md5"].upper(), "IsPrecategorized": "false"}]}))
    case.hashsets.import_file(dist, "distribution", kind="known-good")
    # A file system without birth times (FAT, most network shares): no Created at all.
    with case.store.write() as w:
        w.execute("UPDATE items SET btime_utc = NULL WHERE id = ?", (items["b.png"]["id"],))
    out = {}
    for form in ("media", "cases", "1.3"):
        path = root / f"export-{form}.json"
        r = subprocess.run([sys.executable, "-m", "forensics.cli", "export", "vics", str(case.path), "--out", str(path),
                            "--form", form, "--json"], check=True, capture_output=True, text=True)
        out[form] = (path, json.loads(r.stdout))
    rows = {r["id"]: dict(r) for r in case.store.query("SELECT id, btime_utc, ctime_utc, mtime_utc FROM items")}
    items = {Path(i["path"]).name: i for i in case.items(include_frames=False)}
    data = {"out": out, "items": items, "frames": case.frames(video["id"]), "rows": rows, "video": video}
    case.close()
    return data


def _by_md5(media: list[dict]) -> dict[str, dict]:
    return {m["MD5"].lower(): m for m in media}


def test_iped_hashdbtool_accepts_the_default_export_and_reads_every_category(exported) -> None:
    path, res = exported["out"]["media"]
    items = exported["items"]
    assert res["form"] == "media" and res["version"] == "2.0"
    raw = path.read_bytes()
    # The exact first member IPED's checkDataModel accepts, then the flat Media list, then nothing.
    assert raw.startswith(b'{"@odata.context":"' + VICS20_MEDIA.encode() + b'","value":[{')
    doc = json.loads(raw)
    assert list(doc) == ["@odata.context", "value"]
    assert is_known_json(path)
    # The signed audit head rides on the first Media record (an instance annotation), not at the
    # top level, where IPED would refuse the file; the witness check still finds it.
    from forensics.examiners import read_heads

    assert doc["value"][0]["@forensics.signedAuditHead"].startswith("FSH1.")
    heads, problems = read_heads(path)
    assert len(heads) == 1 and not problems
    records = iped_hashdb_read(path)
    md5s = {i["md5"] for i in items.values() if i["md5"]}
    assert len(records) == len(md5s) == len(doc["value"]) == res["media"]
    got = {r.hashes["md5"]: r for r in records}
    assert set(got) == md5s and all(r.hashes.get("sha1") for r in records)
    assert got[items["a.jpg"]["md5"]].properties["vicCategory"] == "1"
    assert got[items["a.jpg"]["md5"]].properties["status"] == "pedo"
    assert got[items["c.jpg"]["md5"]].properties["status"] == "pedo"  # category 2
    assert got[items["b.png"]["md5"]].properties["vicCategory"] == "3" and "status" not in got[items["b.png"]["md5"]].properties
    assert got[items["clip.mp4"]["md5"]].properties["vicCategory"] == "1"  # the video holds what its frames show
    assert "vicCategory" not in got[items["d.jpg"]["md5"]].properties
    assert got[items["a.jpg"]["md5"]].properties["vicTags"] == "seen;series-x"
    # IsPrecategorized is always there, so even uncategorised Media carry a property and are kept.
    assert got[items["d.jpg"]["md5"]].properties["vicIsPrecategorized"] == "false"
    assert got[items["c.jpg"]["md5"]].properties["vicIsPrecategorized"] == "true"


def test_default_export_obeys_the_model_types_and_nullability(exported) -> None:
    path, _ = exported["out"]["media"]
    items, rows = exported["items"], exported["rows"]
    media = json.loads(path.read_text())["value"]
    errors = [e for m in media for e in model_errors(m, "Media")]
    assert errors == []
    assert len({m["MediaID"] for m in media}) == len(media)
    by = _by_md5(media)
    a = by[items["a.jpg"]["md5"]]
    assert isinstance(a["Tags"], str) and a["Tags"] == "seen;series-x" and a["Comments"] == "downloads"
    assert all(isinstance(m["IsPrecategorized"], bool) for m in media)
    assert by[items["c.jpg"]["md5"]]["IsPrecategorized"] is True
    assert by[items["c.jpg"]["md5"]]["PrecategorizationSource"] == "distribution"
    # Binary copies: one Media, two MediaFiles; RelativeFilePath beside FilePath.
    assert sorted(f["FileName"] for f in a["MediaFiles"]) == ["a copy.jpg", "a.jpg"]
    assert a["RelativeFilePath"] == "a.jpg"
    assert {f["MediaFileID"] for f in a["MediaFiles"]} == {items["a.jpg"]["id"], items["a copy.jpg"]["id"]}
    assert all(f["FilePath"].endswith(f["FileName"]) for f in a["MediaFiles"])
    assert a["MediaSize"] == items["a.jpg"]["size"] and a["MimeType"] == "image/jpeg"
    for m in media:
        assert UPPER_HEX.match(m["MD5"]) and UPPER_HEX.match(m.get("SHA1", "A"))
        for sub in m["MediaFiles"] + m.get("AlternativeHashes", []) + m.get("Exifs", []) + m.get("Segments", []):
            assert sub["MD5"] == m["MD5"]
        for alt in m.get("AlternativeHashes", []):
            assert UPPER_HEX.match(alt["HashValue"]), alt
    names = {alt["HashName"]: alt["HashValue"] for alt in a["AlternativeHashes"]}
    assert names["SHA256"] == items["a.jpg"]["sha256"].upper()
    assert names["imagehash.phash-64"] == items["a.jpg"]["phash"].upper()
    assert names["imagehash.dhash-64"] == items["a.jpg"]["dhash"].upper()
    assert not {"pHash", "dHash", "PhotoDNA"} & set(names)
    # Created only from a recorded birth time, never from the Unix ctime.
    for m in media:
        for f in m["MediaFiles"]:
            row = rows[f["MediaFileID"]]
            assert f.get("Created") == row["btime_utc"], f
            assert f["Written"] == row["mtime_utc"]
    b = by[items["b.png"]["md5"]]["MediaFiles"][0]
    assert "Created" not in b and rows[b["MediaFileID"]]["ctime_utc"]
    d = by[items["d.jpg"]["md5"]]["MediaFiles"][0]
    if rows[d["MediaFileID"]]["btime_utc"]:  # statx reported a birth time (ext4, XFS, Btrfs, tmpfs)
        assert d["Created"] != rows[d["MediaFileID"]]["ctime_utc"]


def test_categorised_video_frames_are_segments_of_the_video(exported) -> None:
    path, res = exported["out"]["media"]
    items, frames = exported["items"], exported["frames"]
    v = _by_md5(json.loads(path.read_text())["value"])[items["clip.mp4"]["md5"]]
    times = sorted(f["frame_time"] for f in frames)
    cat = sorted(f["frame_time"] for f in frames if f["category"] == 1)
    assert len(cat) == 2 and not any(f["md5"] for f in frames)
    # The two neighbouring categorised frames merge: from the first to the frame after the second.
    after = [t for t in times if t > cat[1]]
    end = after[0] if after else exported["video"]["duration"]

    def clock(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    assert v["Segments"] == [{"MD5": v["MD5"], "SegmentIndex": 1, "Start": clock(cat[0]), "End": clock(end), "Category": 1}]
    assert v["Category"] == 1 and res["segments"] == 1
    assert model_errors(v, "Media") == []


def test_vic_catparser_and_griffeyeps_read_the_media(exported) -> None:
    path, _ = exported["out"]["media"]
    items = exported["items"]
    assert catparser_context(path) == VICS20_MEDIA
    by_cat = {c: {m["MD5"].lower() for m in catparser_items(path, c)} for c in range(5)}
    assert by_cat == {0: set(), 1: {items["a.jpg"]["md5"], items["clip.mp4"]["md5"]}, 2: {items["c.jpg"]["md5"]},
                      3: {items["b.png"]["md5"]}, 4: set()}
    assert len(griffeye_media(path)) == len(catparser_items(path))


def test_cases_form_for_clees4all_gleapp_and_griffeyeps(exported) -> None:
    path, res = exported["out"]["cases"]
    items = exported["items"]
    doc = json.loads(path.read_text())
    assert list(doc) == ["@odata.context", "value"] and doc["@odata.context"] == VICS20_CASES
    (case_rec,) = doc["value"]
    assert model_errors(case_rec, "Case") == []
    assert case_rec["TotalMediaFiles"] == res["files"] and case_rec["TotalPrecategorized"] == 1
    assert not is_known_json(path)  # IPED's hash-database tool reads only the flat form
    # GLEAPP's iter_records: value[].Media[] with RelativeFilePath.
    rel = {m["MD5"].lower(): m["RelativeFilePath"] for c in doc["value"] for m in c.get("Media", [])}
    assert rel[items["a.jpg"]["md5"]] == "a.jpg" and rel[items["clip.mp4"]["md5"]] == "clip.mp4"
    assert len(griffeye_media(path)) == res["media"]


def test_13_form_for_ipeds_project_vic_lookup(exported) -> None:
    path, res = exported["out"]["1.3"]
    items = exported["items"]
    assert res["version"] == "1.3"
    doc = json.loads(path.read_text())
    assert list(doc) == ["odata.metadata", "value"] and doc["odata.metadata"] == VICS13_MEDIA
    entries = {e["hash"].lower(): e for e in iped_lookup_read(path)}
    assert len(entries) == res["media"]
    assert entries[items["a.jpg"]["md5"]]["category"] == 1 and entries[items["b.png"]["md5"]]["category"] == 3
    # No category: written as null, which IPED reads as -1 (none); left out, it would read 0 (non-pertinent).
    assert entries[items["d.jpg"]["md5"]]["category"] == -1
    assert {e.hashes["md5"] for e in iped_hashdb_read(path)} == set(entries)
    assert all(m["IsPrecategorized"] in ("true", "false") for m in doc["value"])  # 1.x flags are strings


def test_export_imports_back_with_per_entry_categories(exported, tmp_path: Path) -> None:
    path, _ = exported["out"]["media"]
    items = exported["items"]
    ev = tmp_path / "ev"
    ev.mkdir()
    for name in ("a.jpg", "b.png", "d.jpg"):
        shutil.copy(Path(items[name]["path"]), ev / name)
    c = Case.create(tmp_path / "case2", name="back", number="B-1", examiner="ex", authority="w")
    try:
        c.ingest([ev], IngestOptions(workers=1, thumbnails=False))
        r = c.hashsets.import_file(path, "from export", kind="known-good")
        assert r["format"] == "vics-2.0" and r["entries"] == len(json.loads(path.read_text())["value"])
        got = {Path(i["path"]).name: i["category"] for i in c.items()}
        assert got == {"a.jpg": 1, "b.png": 3, "d.jpg": None}
        bad = c.hashsets.known_bad_item_ids()
        assert {Path(i["path"]).name for i in c.items() if i["id"] in bad} == {"a.jpg"}
        # d.jpg has no category in the export, so the set's kind (known-good) applies to it alone.
        hidden = c.hashsets.known_good_item_ids()
        assert {Path(i["path"]).name for i in c.items() if i["id"] in hidden} == {"d.jpg"}
    finally:
        c.close()


def test_the_readers_reject_what_broke_them_before(tmp_path: Path) -> None:
    """The rules are strict enough to fail: the earlier export (Cases form under a CUSTOM
    context, Tags as a list, null SHA1) is refused by IPED's rules and found empty by CatParser."""
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Cases",
                               "value": [{"CaseID": "x", "Media": [{"MediaID": 1, "MD5": "AB" * 16}]}]}))
    assert not is_known_json(old)
    with pytest.raises(ValueError, match="Unknown ProjectVic JSON data model"):
        iped_hashdb_read(old)
    assert [m.get("MD5") for m in catparser_items(old)] == [None]  # the Case record, no Media
    tags = tmp_path / "tags.json"
    tags.write_text(json.dumps({"@odata.context": VICS20_MEDIA, "value": [
        {"MediaID": 1, "MD5": "AB" * 16, "Tags": ["a", "b"], "IsPrecategorized": False}]}))
    with pytest.raises(ValueError):  # the array's end closes IPED's value loop early
        iped_hashdb_read(tags)
    null_sha1 = tmp_path / "null.json"
    null_sha1.write_text(json.dumps({"@odata.context": VICS20_MEDIA, "value": [{"MediaID": 1, "MD5": "AB" * 16, "SHA1": None}]}))
    with pytest.raises(Exception, match="null"):
        iped_hashdb_read(null_sha1)
    assert model_errors({"MD5": "AB" * 16, "MediaID": 1, "Tags": ["a"]}, "Media") == [
        "Media.Tags should be a string: ['a']", "Media lacks the non-nullable IsPrecategorized"]
