"""Embed LFW and FIW faces through the pipeline's own code path, at full resolution and
degraded to footage-like sizes, into a resumable cache (default /work/cache/lfw).

Run once in the background (it is the expensive part of the calibration work; the stages
are interleaved, so a run stopped early still holds part of every set):

    nice -n 10 uv run python bench/lfw_data.py            # all stages, resumes where it stopped
    uv run python bench/lfw_data.py --status              # what is cached

Stages, in order of need:
  pairs     every image of the 6,000 standard pairs (10 identity-disjoint folds), at full
            resolution and, interleaved, for half of them one degraded copy (face 24, 32 or 48 px)
  fiw       Families in the Wild: one photo of every family member (108x124 crops)
  cluster   all people with >= 10 photos and 1,000 single-photo people (distractors), full size
  fiw_photos  up to 4 photos of every FIW member (relatives as clusters of faces)

Full-resolution faces go through `detect_faces` exactly as an ingested photo does (the face
nearest the centre is LFW's labelled one). A degraded copy is made as archived footage
degrades a face: area-downscaled so the face box is N px wide, Gaussian blur, sensor noise,
JPEG at low quality; the pipeline then detects on it as on any frame and the descriptor is
computed from those pixels (dlib's aligned 150x150 chip upsamples the small face, as it does
for footage). Where the detector misses the face, the known box (the full-resolution box
scaled the same way) is embedded through `describe_boxes`, and `box_source` says so.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
# One cache per face detector: a calibration is fitted on the boxes, landmarks and
# descriptors of the detector that runs in cases (the default, YuNet); records made
# with HOG boxes are kept apart under .../hog so the two never mix in one fit.
DETECTOR = os.environ.get("FORENSICS_LFW_DETECTOR", "yunet")
CACHE = Path(os.environ.get("FORENSICS_LFW_CACHE", "/work/cache/lfw")) / DETECTOR
SIZES = (24, 32, 48)
CHUNK = 50
# Median dlib HOG box of LFW deep-funnelled 250x250 photos (top, right, bottom, left),
# measured on 60 random photos; FIW's 108x124 crops likewise.
LFW_BOX = (80, 176, 188, 67)
FIW_BOX = (26, 97, 117, 6)


@dataclass(frozen=True)
class Job:
    key: str  # path under ../shared/data
    variant: str  # "full" or "d24" / "d32" / "d48"


def lfw_key(name: str, n: int) -> str:
    return f"lfw/{name}/{name}_{n:04d}.jpg"


def read_pairs(path: Path | None = None) -> list[tuple[int, str, str, bool]]:
    """The standard pairs as (fold, key_a, key_b, same_person)."""
    lines = (path or DATA / "lfw" / "pairs.txt").read_text().split("\n")
    folds, per = (int(x) for x in lines[0].split())
    out: list[tuple[int, str, str, bool]] = []
    for i, line in enumerate(x for x in lines[1:] if x.strip()):
        p = line.split()
        fold = i // (2 * per)
        if len(p) == 3:
            out.append((fold, lfw_key(p[0], int(p[1])), lfw_key(p[0], int(p[2])), True))
        else:
            out.append((fold, lfw_key(p[0], int(p[1])), lfw_key(p[2], int(p[3])), False))
    return out


def _rng(key: str, salt: str = "") -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256((salt + key).encode()).digest()[:8], "little"))


def degraded_size(key: str) -> int | None:
    """Half the pairs images get one degraded copy, its size fixed by the name (reproducible).

    Half, not all: one descriptor costs ~0.17 s of CPU here and the machine is shared, so
    the whole cache has to fit in about an hour of CPU."""
    r = _rng(key, "size")
    size = SIZES[int(r.integers(len(SIZES)))]
    return size if r.random() < 0.5 else None


def pairs_jobs() -> Iterator[Job]:
    seen: set[str] = set()
    for _fold, a, b, _same in read_pairs():
        for k in (a, b):
            if k not in seen:
                seen.add(k)
                yield Job(k, "full")
                if (size := degraded_size(k)) is not None:
                    yield Job(k, f"d{size}")


def cluster_people(root: Path | None = None, distractors: int = 1000) -> tuple[list[str], list[str]]:
    """Keys of the clustering set: everyone with >= 10 photos, and `distractors`
    single-photo people chosen reproducibly (every 4th in name order)."""
    root = root or DATA / "lfw"
    people = sorted(d.name for d in root.iterdir() if d.is_dir())
    counts = {p: len(list((root / p).glob("*.jpg"))) for p in people}
    many = [f"lfw/{p}/{f.name}" for p in people if counts[p] >= 10 for f in sorted((root / p).glob("*.jpg"))]
    singles = [p for p in people if counts[p] == 1]
    step = max(1, len(singles) // distractors)
    single_keys = [f"lfw/{p}/{p}_0001.jpg" for p in singles[::step][:distractors]]
    return many, single_keys


def cluster_jobs() -> Iterator[Job]:
    """People in a fixed shuffled order, each with all their photos, distractors spread
    evenly between them, so that a partial cache is still a fair clustering set."""
    many, singles = cluster_people()
    people: dict[str, list[str]] = {}
    for k in many:
        people.setdefault(k.split("/")[1], []).append(k)
    order = sorted(people, key=lambda p: hashlib.sha256(p.encode()).hexdigest())
    per = len(singles) / max(1, len(order))
    done = 0
    for i, p in enumerate(order):
        for k in people[p]:
            yield Job(k, "full")
        upto = round((i + 1) * per)
        for k in singles[done:upto]:
            yield Job(k, "full")
        done = upto


def fiw_jobs(per_member: int = 1) -> Iterator[Job]:
    root = DATA / "fiw"
    for fam in sorted(d for d in root.iterdir() if d.is_dir()):
        for mid in sorted(d for d in fam.iterdir() if d.is_dir()):
            for f in sorted(mid.glob("*.jpg"))[:per_member]:
                yield Job(f"fiw/{fam.name}/{mid.name}/{f.name}", "full")


def fiw_photos_jobs() -> Iterator[Job]:
    """Several photos of every member (up to FIW_PHOTOS), so that a member is a cluster of
    faces, as a person is in a case: the test of a linkage rule that merges clusters, not
    single pairs (the member's first photo is the `fiw` stage's and is reused)."""
    return fiw_jobs(FIW_PHOTOS)


FIW_PHOTOS = 4
STAGES = {"pairs": pairs_jobs, "fiw": fiw_jobs, "cluster": cluster_jobs, "fiw_photos": fiw_photos_jobs}


def degrade(rgb: np.ndarray, face_width: float, target: int, rng: np.random.Generator) -> tuple[np.ndarray, float, dict]:
    """Footage-like copy: the face `target` px wide, blur, noise, low-quality JPEG."""
    from PIL import Image, ImageFilter

    scale = target / face_width
    h, w = rgb.shape[:2]
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    im = Image.fromarray(rgb).resize(size, Image.Resampling.BOX)
    blur = float(rng.uniform(0.3, 1.2))
    im = im.filter(ImageFilter.GaussianBlur(blur))
    noise = float(rng.uniform(2.0, 8.0))
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0.0, noise, (size[1], size[0], 3))
    im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    quality = int(rng.integers(20, 46))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out, size[0] / w, {"blur": blur, "noise": noise, "jpeg": quality}


def _central(faces: list, shape: tuple[int, ...], tol: float = 0.2):
    """The detected face nearest the image centre, if it is close enough to be the labelled one."""
    h, w = shape[:2]
    best, dist = None, tol * max(h, w)
    for f in faces:
        d = abs((f.left + f.right) / 2 - w / 2) + abs((f.top + f.bottom) / 2 - h / 2)
        if d < dist:
            best, dist = f, d
    return best


def embed(job: Job, full_box: dict[str, tuple[int, int, int, int]]) -> dict:
    """One cache record for a job (raises on an unreadable image; the caller records it)."""
    from PIL import Image

    from forensics.faces.detect import describe_boxes, detect_faces

    rgb = np.asarray(Image.open(DATA / job.key).convert("RGB"))
    known = FIW_BOX if job.key.startswith("fiw/") else LFW_BOX
    params = {"blur": 0.0, "noise": 0.0, "jpeg": 0}
    if job.variant == "full":
        img, box0 = rgb, known
    else:
        base = full_box.get(job.key, known)
        width = base[1] - base[3]
        img, s, params = degrade(rgb, width, int(job.variant[1:]), _rng(job.key, job.variant))
        box0 = tuple(int(round(v * s)) for v in base)
    face = _central(detect_faces(img, {"detector": DETECTOR}), img.shape)
    if face is not None:
        vec = face.vector()
        box, source, sharp, det = face.box, "detector", face.sharpness, face.det_score
    else:
        (vec, sharp), = describe_boxes(img, [box0])  # known box: dlib's HOG box of the photo
        box, source, det = box0, "known", float("nan")
    return {"key": job.key, "variant": job.variant, "emb": np.asarray(vec, dtype=np.float32), "box": box,
            "width": float(box[1] - box[3]), "sharpness": float(sharp), "det_score": float(det),
            "box_source": source, "blur": params["blur"], "noise": params["noise"], "jpeg": params["jpeg"],
            "image_w": img.shape[1]}


def _save_chunk(stage: str, records: list[dict]) -> None:
    d = CACHE / stage
    d.mkdir(parents=True, exist_ok=True)
    n = len(list(d.glob("*.npz")))
    arrays = {
        "key": np.array([r["key"] for r in records]), "variant": np.array([r["variant"] for r in records]),
        "emb": np.stack([r["emb"] for r in records]), "box": np.array([r["box"] for r in records], dtype=np.int32),
        "box_source": np.array([r["box_source"] for r in records]),
    }
    for k in ("width", "sharpness", "det_score", "blur", "noise", "jpeg", "image_w"):
        arrays[k] = np.array([r[k] for r in records], dtype=np.float64)
    tmp = d / f".{n:05d}.tmp.npz"
    np.savez(tmp, **arrays)
    tmp.rename(d / f"{n:05d}.npz")  # atomic: a kill never leaves a half chunk


def load(stages: tuple[str, ...] = tuple(STAGES)) -> dict[str, np.ndarray]:
    """Every cached record of the given stages, concatenated (empty arrays if none)."""
    parts: list[dict] = []
    for stage in stages:
        for f in sorted((CACHE / stage).glob("[0-9]*.npz")):
            with np.load(f) as z:
                parts.append({k: z[k] for k in z.files})
    if not parts:
        return {}
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    # a record written twice (two runs racing on the cache) counts once
    _, first = np.unique(np.char.add(np.char.add(out["key"], "|"), out["variant"]), return_index=True)
    keep = np.sort(first)
    return {k: v[keep] for k, v in out.items()}


def _full_boxes() -> dict[str, tuple[int, int, int, int]]:
    data = load(("pairs",))
    if not data:
        return {}
    return {str(k): tuple(int(v) for v in b) for k, v_, b in zip(data["key"], data["variant"], data["box"])
            if v_ == "full"}


# Share of each stage in an interleaved run: the machine may not give the whole cache in
# the time available, and a partial cache must still hold some of every set.
WEIGHTS = {"pairs": 5, "cluster": 3, "fiw": 1, "fiw_photos": 1}


def run_interleaved(stages: list[str], limit: int | None = None) -> None:
    """All stages at once, round-robin by WEIGHTS, each into its own chunk files (at
    most `limit` new embeddings, for timing runs)."""
    full_box = _full_boxes()
    queues, bufs = {}, {}
    for stage in stages:
        have = load((stage,))
        done = {(str(k), str(v)) for k, v in zip(have.get("key", []), have.get("variant", []))}
        queues[stage] = iter([j for j in STAGES[stage]() if (j.key, j.variant) not in done])
        bufs[stage] = []
        print(f"[{stage}] {len(done)} cached", flush=True)
    # a face already embedded for another stage is copied, not recomputed
    allrec = load(tuple(STAGES))
    reuse = {(str(k), str(v)): i for i, (k, v) in enumerate(zip(allrec.get("key", []), allrec.get("variant", [])))}
    t0, cpu0, n = time.time(), time.process_time(), 0
    live = list(stages)
    while live and not (limit and n >= limit):
        for stage in list(live):
            for _ in range(WEIGHTS.get(stage, 1)):
                job = next(queues[stage], None)
                if job is None:
                    live.remove(stage)
                    break
                if (job.key, job.variant) in reuse:
                    i = reuse[(job.key, job.variant)]
                    rec = {k: allrec[k][i] for k in allrec}
                else:
                    try:
                        rec = embed(job, full_box)
                    except Exception as exc:  # a bad file is reported and the run goes on
                        print(f"[{stage}] FAILED {job.key} {job.variant}: {exc}", flush=True)
                        continue
                    n += 1
                    if job.variant == "full":
                        full_box[job.key] = tuple(int(v) for v in rec["box"])
                bufs[stage].append(rec)
                if len(bufs[stage]) >= CHUNK:
                    _save_chunk(stage, bufs[stage])
                    bufs[stage] = []
                    print(f"[{stage}] chunk saved; {n} embedded in {time.time() - t0:.0f} s wall, "
                          f"{(time.process_time() - cpu0) / max(n, 1):.3f} s CPU/face", flush=True)
    for stage, buf in bufs.items():
        if buf:
            _save_chunk(stage, buf)
    print("all stages done", flush=True)


def status() -> None:
    for stage in STAGES:
        d = load((stage,))
        n = len(d.get("key", []))
        known = int(np.sum(d["box_source"] == "known")) if n else 0
        print(f"{stage}: {n} records, {known} on the known box")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", action="append", choices=list(STAGES), help="stages to run (default all)")
    ap.add_argument("--limit", type=int, help="at most this many new embeddings (timing runs)")
    ap.add_argument("--status", action="store_true")
    args = ap.parse_args(argv)
    if args.status:
        status()
        return 0
    run_interleaved(args.stage or list(STAGES), args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
