"""The CLI as a Unix tool: output cut off by `head` ends quietly, and `items --json`
carries each item's hash-set matches, category, tags and persons, fetched in batches."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from forensics.case import Case
from forensics.cli import EXIT_BROKEN_PIPE
from forensics.faces.pipeline import write_faces
from forensics.ingest.records import IngestOptions
from test_faces_index import record
from test_faces_pipeline import add_item

CLI = [sys.executable, "-m", "forensics.cli"]
RNG = np.random.default_rng(5)


def _case(tmp_path: Path, files: int) -> Case:
    ev = tmp_path / "ev"
    ev.mkdir()
    for n in range(files):
        (ev / f"f{n:04d}.bin").write_bytes(f"file number {n} ".encode() * 8)
    case = Case.create(tmp_path / "case", name="t", number="U-1", examiner="ex", authority="warrant 18")
    case.ingest([ev], IngestOptions(workers=1, thumbnails=False, faces=False))
    return case


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """A case whose listing is far larger than a pipe's buffer (64 KiB), in text and JSON."""
    tmp = tmp_path_factory.mktemp("many")
    _case(tmp, 600).close()
    return tmp / "case"


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_output_piped_into_head_ends_quietly(many: Path, extra: list[str]) -> None:
    cli = subprocess.Popen(CLI + ["items", str(many), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-1"], stdin=cli.stdout, stdout=subprocess.PIPE)
    cli.stdout.close()  # head alone reads it, so its exit closes the pipe
    first = head.communicate(timeout=120)[0]
    err = cli.stderr.read()
    code = cli.wait(timeout=120)
    assert first.strip() == (b"{" if extra else first.strip()) and first
    assert err == b"", err.decode(errors="replace")
    assert code in (0, EXIT_BROKEN_PIPE)  # 0 when everything fitted in the pipe before head left


def test_broken_pipe_exit_code_is_141_when_output_is_cut(many: Path) -> None:
    # JSON is written in many small pieces, so cutting it early always breaks the pipe.
    cli = subprocess.Popen(CLI + ["items", str(many), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cli.stdout.read(10)
    cli.stdout.close()
    assert cli.wait(timeout=120) == EXIT_BROKEN_PIPE and cli.stderr.read() == b""


def _faces_on(case: Case, item_id: int, vecs: list[np.ndarray]) -> list[int]:
    with case.store.write() as w:
        return write_faces(w, item_id, [record(v) for v in vecs], case.thumbs_dir)


def _identity() -> np.ndarray:
    v = RNG.normal(size=128)
    return v / np.linalg.norm(v)


def _near(c: np.ndarray) -> np.ndarray:
    return c + RNG.normal(scale=0.015, size=128)


def test_items_json_carries_matches_category_tags_and_persons(tmp_path: Path) -> None:
    case = _case(tmp_path, 4)
    try:
        it = {Path(i["path"]).name: i for i in case.items()}
        f0, f1, f2, f3 = (it[f"f000{n}.bin"]["id"] for n in range(4))
        A, B = _identity(), _identity()
        for item in (f0, f1, f2):  # A on f0, f1 and f2; B beside A on f1
            _faces_on(case, item, [_near(A)] + ([_near(B)] if item == f1 else []))
        for _ in range(3):  # more photos of B so it clusters
            with case.store.write() as w:
                other = add_item(w)
            _faces_on(case, other, [_near(B)])
        with case.store.write() as w:  # a video whose two frames show A
            video = add_item(w, "video")
            frames = [add_item(w, "frame", parent=video, t=float(t), index=t) for t in (0, 1)]
        for fr in frames:
            _faces_on(case, fr, [_near(A)])
        case.faces.cluster()
        a_cluster = case.store.scalar("SELECT person_id FROM faces WHERE item_id = ?", (f2,))
        alice = case.faces.create_person_from_cluster(a_cluster, "Alice")
        b_cluster = case.store.scalar("SELECT person_id FROM faces WHERE item_id = ? AND person_id != ?", (f1, alice["id"]))
        lst = tmp_path / "bad.md5"
        lst.write_text(f"{it['f0000.bin']['md5']}  x\n{it['f0001.bin']['sha256']}  y\n")
        case.hashsets.import_file(lst, "Known", category=2)
        case.set_category_name(2, "Exploitive")
        case.tag_items([f1], add_tags=["phone", "evidence"])
        case.tag_items([f3], category=7)
    finally:
        case.close()

    out = json.loads(subprocess.run(CLI + ["items", str(tmp_path / "case"), "--json"], capture_output=True,
                                    text=True, check=True).stdout)
    by_id = {i["id"]: i for i in out["items"]}
    assert out["count"] == len(by_id) == 4 + 3 + 1 + 2
    alice_on = lambda n, confirmed: {"person_id": alice["id"], "name": "Alice", "kind": "person", "faces": n,  # noqa: E731
                                     "confirmed": confirmed, "suggested": 0}
    assert by_id[f0]["persons"] == [alice_on(1, 1)]
    assert by_id[f1]["persons"] == [alice_on(1, 1), {"person_id": b_cluster, "name": None, "kind": "cluster",
                                                     "faces": 1, "confirmed": 0, "suggested": 0}]
    assert by_id[video]["persons"] == [alice_on(2, 2)]  # the faces on its frames
    assert [by_id[fr]["persons"] for fr in frames] == [[alice_on(1, 1)]] * 2
    assert by_id[f3]["persons"] == []
    assert [(m["set_name"], m["hash"], m["kind"], m["category"]) for m in by_id[f0]["hash_matches"]] == \
        [("Known", "md5", "known-bad", 2)]
    assert [m["hash"] for m in by_id[f1]["hash_matches"]] == ["sha256"]
    assert by_id[f2]["hash_matches"] == by_id[f3]["hash_matches"] == []
    assert (by_id[f0]["category"], by_id[f0]["category_name"]) == (2, "Exploitive")
    assert (by_id[f3]["category"], by_id[f3]["category_name"]) == (7, "Category 7") and by_id[f2]["category"] is None
    assert by_id[f1]["tags"] == ["evidence", "phone"] and by_id[f0]["tags"] == []
    # The text listing stays as it was.
    text = subprocess.run(CLI + ["items", str(tmp_path / "case")], capture_output=True, text=True, check=True).stdout
    assert len(text.splitlines()) == 10 and "hash_matches" not in text


def test_items_detailed_uses_batched_queries(many: Path) -> None:
    """The number of statements does not grow with the number of items (no query per item)."""
    case = Case.open(many, readonly=True)
    try:
        def statements(limit: int) -> int:
            seen: list[str] = []
            conn = case.store.read
            conn.set_trace_callback(seen.append)
            try:
                rows = case.items_detailed(limit=limit)
            finally:
                conn.set_trace_callback(None)
            assert len(rows) == limit
            return len(seen)

        statements(1)  # first use: source paths are looked up once and kept
        assert statements(600) == statements(20) <= 8
    finally:
        case.close()
