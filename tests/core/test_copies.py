"""Copy groups and search by image on small generated images (and the shared photos)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from forensics.case import Case
from forensics.copies.matrix import HashMatrix
from forensics.copies.rule import CopyRule
from forensics.ingest.records import IngestOptions

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _scene(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).resize((400, 300), Image.Resampling.BICUBIC)
    d = ImageDraw.Draw(im)
    for _ in range(8):
        x, y = int(rng.integers(0, 350)), int(rng.integers(0, 250))
        d.ellipse([x, y, x + int(rng.integers(20, 120)), y + int(rng.integers(20, 120))],
                  fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return im


def _jpeg(im: Image.Image, q: int = 90) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    return buf.getvalue()


@pytest.fixture()
def case(tmp_path: Path) -> Case:
    ev = tmp_path / "ev"
    ev.mkdir()
    a = _scene(1)
    (ev / "a.jpg").write_bytes(_jpeg(a))
    (ev / "a_copy.jpg").write_bytes(_jpeg(a))  # byte-identical
    (ev / "a_small.jpg").write_bytes(_jpeg(a.resize((200, 150)), 60))
    (ev / "a_mirror.jpg").write_bytes(_jpeg(ImageOps.mirror(a)))
    for s in range(2, 6):
        (ev / f"other{s}.jpg").write_bytes(_jpeg(_scene(s)))
    (ev / "blank1.png").write_bytes(_png(Image.new("RGB", (64, 64), (200, 200, 200))))
    (ev / "blank2.png").write_bytes(_png(Image.new("RGB", (80, 80), (10, 10, 10))))
    (ev / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    c = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="warrant 7")
    c.ingest([ev], IngestOptions(workers=1, thumbnails=False))
    yield c
    c.close()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _ids(case: Case) -> dict[str, int]:
    return {Path(i["path"]).name: i["id"] for i in case.items()}


def test_groups_binary_and_visual_copies_and_never_blanks(case: Case) -> None:
    ids = _ids(case)
    summary = case.copies.group()
    assert summary["groups"] >= 1
    g = case.copies.group_of(ids["a.jpg"])
    assert g is not None and g["kind"] == "visual"
    members = {m["item_id"] for m in g["members"]}
    assert {ids["a.jpg"], ids["a_copy.jpg"], ids["a_small.jpg"]} <= members
    assert not members & {ids[f"other{s}.jpg"] for s in range(2, 6)}
    assert case.copies.group_of(ids["blank1.png"]) is None and case.copies.group_of(ids["blank2.png"]) is None
    assert case.copies.group_members([ids["a_copy.jpg"]]) == sorted(members)
    assert any(e.action == "copies.group" for e in case.audit_entries("copies."))


def test_similar_finds_mirrored_copy_ranks_and_audits(case: Case, tmp_path: Path) -> None:
    ids = _ids(case)
    q = tmp_path / "query.jpg"
    q.write_bytes(_jpeg(_scene(1), 75))
    r = case.copies.similar(image_path=q)
    found = {m["item_id"]: m for m in r["matches"]}
    assert {ids["a.jpg"], ids["a_copy.jpg"], ids["a_small.jpg"], ids["a_mirror.jpg"]} <= set(found)
    assert found[ids["a_mirror.jpg"]]["variant"] == "mirror"
    assert set(found[ids["a.jpg"]]["distances"]) >= {"phash", "dhash"}
    dists = [m["distance"] for m in r["matches"]]
    assert dists == sorted(dists)
    assert not set(found) & {ids[f"other{s}.jpg"] for s in range(2, 6)}
    entry = case.audit_entries("copies.similar")[-1]
    assert entry.params["query_sha256"] == r["query"]["sha256"] and entry.result["matches"] == r["total"]
    by_item = case.copies.similar(item_id=ids["a.jpg"])
    assert ids["a.jpg"] not in {m["item_id"] for m in by_item["matches"]}
    assert ids["a_mirror.jpg"] in {m["item_id"] for m in by_item["matches"]}


def test_blank_query_is_flagged_not_matched(case: Case, tmp_path: Path) -> None:
    q = tmp_path / "flat.png"
    q.write_bytes(_png(Image.new("RGB", (50, 50), (200, 200, 200))))
    r = case.copies.similar(image_path=q)
    assert r["query"]["blank"] and r["matches"] == []


def test_matrix_scan_is_exact_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    n = 300_000
    p = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    d = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    flips = rng.integers(0, 64, (50, 6))
    for k, row in enumerate(flips):  # plant near copies of hash 0
        v = int(p[0]) & (2**64 - 1)
        for b in row[: k % 7]:
            v ^= 1 << int(b)
        p[k + 1] = np.array([v], dtype=np.uint64).view(np.int64)[0]
        d[k + 1] = d[0]
    m = HashMatrix(np.arange(n), p, d)
    rule = CopyRule(8, 64, 128)
    hits = {h.item_id for h in m.scan(p[:1], d[:1], rule)}
    brute = set(np.flatnonzero(np.bitwise_count(p.view(np.uint64) ^ p.view(np.uint64)[0]) <= 8).tolist())
    assert hits == brute and len(hits) > 40


@pytest.mark.shared
def test_shared_obama_copies_and_no_cross_person_groups(tmp_path: Path) -> None:
    if not (SHARED / "faces").is_dir():
        pytest.skip(f"shared test data not found at {SHARED.resolve()}")
    c = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="warrant 7")
    c.ingest([SHARED / "faces"], IngestOptions(workers=1, thumbnails=False))
    c.copies.group()
    person = {}
    for i in c.items():
        parts = Path(i["path"]).parts
        person[i["id"]] = parts[-2] if ("labeled" in parts or "johns" in parts) else i["path"]
    by_name = {str(Path(i["path"]).relative_to(SHARED.resolve())): i["id"] for i in c.items()}
    g = c.copies.group_of(by_name["faces/labeled/obama/obama-480p.jpg"])
    assert g and by_name["faces/scenes/obama-1080p.jpg"] in {m["item_id"] for m in g["members"]}
    for grp in c.copies.groups():
        people = {person[m["item_id"]] for m in grp["members"]}
        people = {"obama" if p.endswith("obama-1080p.jpg") else p for p in people}
        assert len(people) == 1, grp
    c.close()


def test_fine_distance_nearer_of_trimmed_and_untrimmed_and_crop_cuts() -> None:
    from forensics.copies.verify import FINE_MAX_CROP, crop_distance, crop_hashes, fine_distance, fine_hash

    a = np.zeros(8, np.uint64)
    b = a.copy()
    b[:4] = np.uint64(2**64 - 1)  # trimmed halves 256 bits apart, untrimmed identical
    assert fine_distance(a, b) == 0
    b[4] = np.uint64(7)
    assert fine_distance(a, b) == 3
    assert fine_distance(a, None) is None
    # A copy cut by 5 % on one side is near one of the query's nine cuts; another picture is not.
    im = _scene(3)
    w, h = im.size
    cropped = im.crop((round(w * 0.05), 0, w, h - round(h * 0.05)))
    near = crop_distance(crop_hashes(im), fine_hash(cropped))
    far = crop_distance(crop_hashes(im), fine_hash(_scene(4)))
    assert near is not None and far is not None
    assert near <= FINE_MAX_CROP < far


def test_bucket_pairs_find_near_hashes_and_stay_linear_on_identical_ones() -> None:
    from forensics.copies.grouping import bucket_pairs, components

    rng = np.random.default_rng(5)
    n = 5000
    p = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    d = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    # Rows 0-49 get a copy in rows 50-99, 3 bits off in pHash and 3 in dHash.
    flips = np.array([sum(1 << int(b) for b in rng.choice(64, 3, replace=False)) for _ in range(100)], np.uint64)
    p[50:100] = (p[:50].view(np.uint64) ^ flips[:50]).view(np.int64)
    d[50:100] = (d[:50].view(np.uint64) ^ flips[50:]).view(np.int64)
    # 1,000 identical hashes: pairs must stay linear in the bucket size, not quadratic.
    p[1000:2000], d[1000:2000] = p[1000], d[1000]
    a, b = bucket_pairs(HashMatrix(np.arange(n), p, d), tables=80, bits=24)
    labels = components(n, a, b)
    assert (labels[:50] == labels[50:100]).all()
    assert len(set(labels[1000:2000].tolist())) == 1
    assert len(a) <= 80 * 3 * 1100
