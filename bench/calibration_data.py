"""Faces and pairs for the calibration benchmark, from the cache bench/lfw_data.py fills.

Identities never cross folds: LFW's ten standard folds are identity-disjoint, and every
pair used to fit or test comes from inside one fold.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lfw_data  # noqa: E402

BANDS = [{"name": "full", "min_width": 64.0}, {"name": "48", "min_width": 40.0},
         {"name": "32", "min_width": 28.0}, {"name": "24", "min_width": 0.0}]


@dataclass
class Faces:
    """One row per embedded face (a photo at full size or one degraded copy of it)."""

    key: np.ndarray
    variant: np.ndarray
    person: np.ndarray
    fold: np.ndarray  # -1 outside the pairs folds
    emb: np.ndarray
    width: np.ndarray
    sharpness: np.ndarray
    box_source: np.ndarray

    def __len__(self) -> int:
        return len(self.key)

    def take(self, idx: np.ndarray) -> "Faces":
        return Faces(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def person_of(key: str) -> str:
    parts = key.split("/")
    return parts[1] if parts[0] == "lfw" else f"{parts[1]}/{parts[2]}"


def load_faces(stages: tuple[str, ...]) -> Faces:
    d = lfw_data.load(stages)
    if not d:
        raise SystemExit(f"no cached faces for {stages}: run bench/lfw_data.py first")
    fold_of: dict[str, int] = {}
    for fold, a, b, _ in lfw_data.read_pairs():
        fold_of[person_of(a)] = fold
        fold_of[person_of(b)] = fold
    person = np.array([person_of(str(k)) for k in d["key"]])
    fold = np.array([fold_of.get(p, -1) for p in person])
    return Faces(d["key"].astype(str), d["variant"].astype(str), person, fold, d["emb"].astype(np.float64),
                 d["width"], d["sharpness"], d["box_source"].astype(str))


@dataclass
class Pairs:
    a: np.ndarray  # row indices into Faces
    b: np.ndarray
    same: np.ndarray
    fold: np.ndarray
    dist: np.ndarray
    band: np.ndarray


def pair_bands(wa: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """The calibration's pair band of each pair of widths (the one definition, in the core)."""
    from forensics.faces.calibration import FaceQuality, pair_band

    cache: dict[tuple[float, float], str] = {}
    out = []
    for x, y in zip(wa.tolist(), wb.tolist()):
        k = (x, y)
        if k not in cache:
            cache[k] = pair_band(FaceQuality(x), FaceQuality(y), BANDS)
        out.append(cache[k])
    return np.array(out)


def _finish(f: Faces, a: list, b: list, same: list) -> Pairs:
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    dist = np.sqrt(((f.emb[a] - f.emb[b]) ** 2).sum(1))
    return Pairs(a, b, np.asarray(same, bool), f.fold[a], dist, pair_bands(f.width[a], f.width[b]))


def fold_pairs(f: Faces, different_per_fold: int = 30000, seed: int = 13) -> Pairs:
    """Inside each fold: every same-person pair of different photos (any variants) and a
    random sample of different-person pairs. Never a photo with its own degraded copy."""
    rng = np.random.default_rng(seed)
    a: list[int] = []
    b: list[int] = []
    same: list[bool] = []
    for fold in range(10):
        rows = np.flatnonzero(f.fold == fold)
        by_person: dict[str, list[int]] = {}
        for r in rows:
            by_person.setdefault(f.person[r], []).append(int(r))
        for members in by_person.values():
            for i, x in enumerate(members):
                for y in members[i + 1:]:
                    if f.key[x] != f.key[y]:
                        a.append(x)
                        b.append(y)
                        same.append(True)
        if len(by_person) < 2:
            continue
        xa = rng.choice(rows, different_per_fold)
        xb = rng.choice(rows, different_per_fold)
        keep = f.person[xa] != f.person[xb]
        a += xa[keep].tolist()
        b += xb[keep].tolist()
        same += [False] * int(keep.sum())
    return _finish(f, a, b, same)


def standard_pairs(f: Faces) -> Pairs:
    """The 6,000 standard pairs at full resolution (pairs whose faces are cached)."""
    row = {(k, v): i for i, (k, v) in enumerate(zip(f.key, f.variant))}
    a: list[int] = []
    b: list[int] = []
    same: list[bool] = []
    for _fold, ka, kb, s in lfw_data.read_pairs():
        ia, ib = row.get((ka, "full")), row.get((kb, "full"))
        if ia is not None and ib is not None:
            a.append(ia)
            b.append(ib)
            same.append(s)
    return _finish(f, a, b, same)


def fiw_relations(family_dir: Path) -> dict[tuple[str, str], int]:
    """(MIDa, MIDb) -> relation code of FIW's mid.csv (row member's relation to column member)."""
    import csv

    out: dict[tuple[str, str], int] = {}
    with open(family_dir / "mid.csv", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    n = sum(1 for h in header[1:] if h.isdigit())
    for r in rows[1:]:
        if not r or not r[0].isdigit():
            continue
        for j in range(1, n + 1):
            code = int(r[j]) if r[j].strip().isdigit() else 0
            if code:
                out[(f"MID{r[0]}", f"MID{header[j]}")] = code
    return out


RELATION = {1: "parent-child", 4: "parent-child", 2: "siblings", 3: "grandparent", 6: "grandparent",
            7: "great-grandparent", 8: "great-grandparent", 5: "spouses"}


def fiw_pairs(f: Faces) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of embedded FIW members with a relation: (row a, row b, relation name)."""
    by_member: dict[str, int] = {}
    for i, k in enumerate(f.key):
        if k.startswith("fiw/"):
            fam, mid = k.split("/")[1:3]
            by_member.setdefault(f"{fam}/{mid}", i)
    a, b, rel = [], [], []
    for fam in sorted({m.split("/")[0] for m in by_member}):
        for (ma, mb), code in fiw_relations(lfw_data.DATA / "fiw" / fam).items():
            if ma < mb and f"{fam}/{ma}" in by_member and f"{fam}/{mb}" in by_member and code in RELATION:
                a.append(by_member[f"{fam}/{ma}"])
                b.append(by_member[f"{fam}/{mb}"])
                rel.append(RELATION[code])
    return np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(rel)
