"""Evidence untouched: access times and bytes of every evidence file are the same after
ingest (with faces and video), face analysis, copy grouping, search by item, a report
and verification."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from forensics.case import Case
from forensics.ingest.records import IngestOptions

OLD_ATIME = 1_500_000_000 * 10**9  # 2017: before mtime, so relatime would update it on any read
OLD_MTIME = 1_600_000_000 * 10**9


def _evidence(root: Path) -> Path:
    from PIL import Image

    from sample_cases.build import astronaut
    from test_media_formats import _clip

    root.mkdir()
    face = astronaut()
    face.save(root / "face.png")
    face.resize((400, 400)).save(root / "face_small.jpg", quality=90)  # a visual copy
    (root / "notes.txt").write_text("nothing here")
    Image.radial_gradient("L").save(root / "grad.png")
    _clip(root / "cam.mp4", None, "libx264", seconds=1.0)
    for p in root.iterdir():
        os.utime(p, ns=(OLD_ATIME, OLD_MTIME))
    return root


def _state(root: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for p in sorted(root.iterdir()):
        st = os.stat(p)
        with open(p, "rb") as f:  # read after stat: this read itself may move atime
            digest = hashlib.sha256(f.read()).hexdigest()
        out[p.name] = (st.st_atime_ns, digest)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # undo our own read
    return out


def test_access_times_and_bytes_unchanged_through_every_step(tmp_path: Path) -> None:
    ev = _evidence(tmp_path / "ev")
    before = _state(ev)
    assert all(a == OLD_ATIME for a, _ in before.values())
    case = Case.create(tmp_path / "case", name="t", number="1", examiner="ex", authority="w")
    changed: dict[str, list[str]] = {}

    def step(name: str, fn) -> None:
        fn()
        now = _state(ev)
        moved = [f for f in before if now[f] != before[f]]
        if moved:
            changed[name] = moved
            for f in moved:  # reset so the next step is judged on its own
                os.utime(ev / f, ns=(OLD_ATIME, OLD_MTIME))

    step("ingest", lambda: case.ingest([ev], IngestOptions(workers=1, faces=True)))
    face_id = next(i["id"] for i in case.items() if i["relpath"] == "face.png")
    step("faces analyze", lambda: case.faces.analyze())
    step("copies", lambda: case.copies.group())
    step("similar", lambda: case.copies.similar(item_id=face_id))
    case.tag_items([i["id"] for i in case.items(include_frames=False)], bookmarked=True)
    step("report", lambda: case.export_report(tmp_path / "r.html"))
    step("verify", lambda: case.verify())
    case.close()
    assert changed == {}
