"""Corroborated linkage: faces become one identity only when many face pairs agree.

A single pair of faces, however close, cannot tell a person from their sibling: on
Families in the Wild, sibling and parent-child pairs reach the same log10 LR as the
strongest same-person pairs of LFW (about 4). A rule that links on one pair (single
linkage, or Chinese whispers on a thresholded graph) must therefore either set its level
above every relative, and lose most same-person links, or merge relatives. This rule asks
for corroboration instead, and it differs with what is being joined:

* two single appearances (a photo's face, or one video track): never on their own pair;
  only when `seed_support` more appearances score at `seed_log10_lr` or more with both
  and with each other (a triangle, or with 2 a clique of four, of mutually strong pairs);
* a single appearance and a group: most of the group's faces must support it (the
  `single_share`-quantile of the cross pairs at `pair_log10_lr` or more) and the mean
  log10 LR over the cross pairs must reach `single_mean_log10_lr`;
* two groups (average linkage): the mean log10 LR over their cross pairs must reach
  `mean_log10_lr`, and at least `support` cross pairs must be strong on their own, so one
  strong pair between two groups whose other pairs disagree never merges them.

Merges are made strongest first (agglomerative, the mean as priority), re-scoring a group
against its neighbours after each merge. Only pairs the kNN graph proposes are ever scored
(hnswlib neighbours, never all pairs); a score compares at most `sample` faces of each
side, so a merge costs at most sample x sample distances whatever the groups' sizes.

Constraints hold throughout, as in `forensics.faces.cluster`: units that share a photo or
a frame never join; a fixed label (an analyst's person) never changes and two persons are
never joined; a unit never joins a label it was rejected from.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LinkRule:
    """The levels of the corroborated rule (log10 LR); chosen on LFW by bench/calibration.py."""

    pair_log10_lr: float = 1.5
    seed_log10_lr: float = 2.5
    mean_log10_lr: float = 1.5
    single_mean_log10_lr: float = 1.5
    single_share: float = 0.25
    support: int = 2
    seed_support: int = 1
    sample: int = 48
    # faces this close (euclidean) are copies of one photograph (re-saved, rotated,
    # resized) and join as one appearance: below every FIW relative pair (closest 0.13)
    # and every LFW different-person pair (closest 0.25)
    copy_distance: float = 0.1

    @classmethod
    def from_spec(cls, spec: dict | None) -> "LinkRule":
        """From the calibration's `cluster.rule` mapping (missing keys take the defaults)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (spec or {}).items() if k in names})

    def as_dict(self) -> dict:
        return asdict(self)


Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


class _Groups:
    """Union-find over units with each group's faces, units, constraints and label."""

    def __init__(self, units: list[np.ndarray], weight: list[int], cannot: list[set[int]], fixed: dict[int, int],
                 forbidden: dict[int, set[int]]) -> None:
        n = len(units)
        self.parent = list(range(n))
        self.rows = [np.asarray(u, np.int64) for u in units]
        self.weight = list(weight)
        self.members = [{u} for u in range(n)]
        self.cannot = [set(c) for c in cannot]
        self.label = [fixed.get(u) for u in range(n)]
        self.forbidden = [set(forbidden.get(u, ())) for u in range(n)]
        self.version = [0] * n

    def find(self, u: int) -> int:
        while self.parent[u] != u:
            self.parent[u] = self.parent[self.parent[u]]
            u = self.parent[u]
        return u

    def compatible(self, a: int, b: int) -> bool:
        la, lb = self.label[a], self.label[b]
        if la is not None and lb is not None:
            return False  # two analysts' persons are joined only by an analyst
        new = la if la is not None else lb
        if new is not None and (new in self.forbidden[a] or new in self.forbidden[b]):
            return False
        return not (self.cannot[a] & self.members[b])

    def union(self, a: int, b: int) -> int:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.rows[a] = np.concatenate([self.rows[a], self.rows[b]])
        self.weight[a] += self.weight[b]
        self.members[a] |= self.members[b]
        self.cannot[a] |= self.cannot[b]
        self.label[a] = self.label[a] if self.label[a] is not None else self.label[b]
        self.forbidden[a] |= self.forbidden[b]
        self.version[a] += 1
        self.version[b] += 1
        self.rows[b] = self.rows[b][:0]
        return a


def _sample(rows: np.ndarray, n: int) -> np.ndarray:
    if len(rows) <= n:
        return rows
    return rows[np.linspace(0, len(rows) - 1, n).round().astype(np.int64)]


def corroborated_linkage(units: list[np.ndarray], weight: list[int], score: Scorer,
                         candidates: dict[tuple[int, int], float], rule: LinkRule, cannot: list[set[int]],
                         fixed: dict[int, int] | None = None, forbidden: dict[int, set[int]] | None = None,
                         label_floor: int = 0) -> list[int]:
    """A label for every unit.

    `units[u]` holds the row numbers (for `score`) of unit u's faces (empty: the unit takes
    no part); `weight[u]` is how many independent appearances it is (1 for a face or a
    track, a person's photos and tracks); `score(rows_a, rows_b)` returns the log10 LR
    matrix of two sets of rows; `candidates` maps unit pairs (u < v) the kNN graph found to
    their strongest face pair's log10 LR. Fixed units keep their label; free groups get
    `label_floor` + a unit number (at or above one more than the largest fixed label)."""
    fixed = fixed or {}
    g = _Groups(units, weight, cannot, fixed, forbidden or {})
    strong: dict[int, dict[int, float]] = {}
    adj: dict[int, set[int]] = {}
    for (u, v), s in candidates.items():
        if u == v or not len(g.rows[u]) or not len(g.rows[v]):
            continue
        adj.setdefault(u, set()).add(v)
        adj.setdefault(v, set()).add(u)
        if s >= rule.seed_log10_lr:
            strong.setdefault(u, {})[v] = s
            strong.setdefault(v, {})[u] = s

    def corroboration(a: int, b: int) -> float | None:
        """Two single units: the weakest pair of the best clique of a, b and `seed_support`
        more units, all pairs at the seed level, if there is one."""
        sa, sb = strong.get(a, {}), strong.get(b, {})
        if b not in sa:
            return None
        common = [w for w in sa if w in sb and w != b and w not in g.cannot[a] and w not in g.cannot[b]]
        best = None
        if rule.seed_support <= 1:
            for w in common:
                m = min(sa[b], sa[w], sb[w])
                best = m if best is None or m > best else best
            return best
        for i, w1 in enumerate(common):  # a 4-clique: two more units, strong to each other too
            s1 = strong.get(w1, {})
            for w2 in common[i + 1:]:
                if w2 in s1 and w2 not in g.cannot[w1]:
                    m = min(sa[b], sa[w1], sb[w1], sa[w2], sb[w2], s1[w2])
                    best = m if best is None or m > best else best
        return best

    def decide(a: int, b: int) -> float | None:
        """The merge priority of groups a and b under the rule, or None if they may not merge."""
        if not g.compatible(a, b):
            return None
        if g.weight[a] == 1 and g.weight[b] == 1 and len(g.members[a]) == 1 and len(g.members[b]) == 1:
            return corroboration(min(a, b), max(a, b))
        s = score(_sample(g.rows[a], rule.sample), _sample(g.rows[b], rule.sample)).ravel()
        if not s.size:
            return None
        mean = float(s.mean())
        if min(g.weight[a], g.weight[b]) == 1:
            k = max(rule.support, math.ceil(rule.single_share * s.size))
            level = rule.single_mean_log10_lr
        else:
            k, level = rule.support, rule.mean_log10_lr
        if s.size < k or mean < level:
            return None
        kth = float(np.partition(s, s.size - k)[s.size - k])  # the k-th strongest cross pair
        return mean if kth >= rule.pair_log10_lr else None

    heap: list[tuple[float, int, int, int, int]] = []
    queued: dict[tuple[int, int], tuple[int, int]] = {}  # pair -> versions of its live heap entry

    def push(a: int, b: int) -> None:
        a, b = min(a, b), max(a, b)
        ver = (g.version[a], g.version[b])
        if queued.get((a, b)) == ver:
            return
        p = decide(a, b)
        if p is not None:
            queued[(a, b)] = ver
            heapq.heappush(heap, (-p, a, b, *ver))

    gadj = {u: set(vs) for u, vs in adj.items()}  # group -> neighbouring units (resolved lazily)
    scored_at = list(weight)  # a group's weight when all its neighbours were last re-scored
    for u, vs in adj.items():
        for v in vs:
            if u < v:
                push(u, v)
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if queued.get((a, b)) == (va, vb):
            del queued[(a, b)]
        ra, rb = g.find(a), g.find(b)
        if ra == rb:
            continue
        if (ra, rb) != (a, b) or (g.version[a], g.version[b]) != (va, vb):
            push(ra, rb)  # stale: score the groups as they are now
            continue
        if not g.compatible(a, b):
            continue
        small = b if len(g.members[a]) >= len(g.members[b]) else a
        small_units = set(g.members[small])
        root = g.union(a, b)
        gadj[root] = gadj.get(a, set()) | gadj.get(b, set())
        gadj.pop(small, None)
        # re-score the neighbours of the absorbed part; all neighbours only once the group
        # has grown by a quarter since they were last scored (the mean over a large
        # group moves little with one more face), so a merge costs ~ the absorbed part
        touched = {v for u in small_units for v in adj.get(u, ())}
        if g.weight[root] >= 1.25 * scored_at[root]:
            gadj[root] = {g.find(v) for v in gadj[root]} - {root}
            touched |= gadj[root]
            scored_at[root] = g.weight[root]
        for c in {g.find(v) for v in touched} - {root}:
            push(root, c)
    offset = max(label_floor, (max(fixed.values()) + 1) if fixed else 0)
    out = []
    for u in range(len(units)):
        r = g.find(u)
        out.append(g.label[r] if g.label[r] is not None else offset + r)
    return out


def calibrated_scorer(vectors: np.ndarray, widths: np.ndarray, cal) -> Scorer:
    """log10 LR matrices between sets of rows of `vectors`, from the calibration (`cal`,
    a forensics.faces.calibration.Calibration) and the faces' widths."""
    v = np.asarray(vectors, np.float64)
    sq = (v ** 2).sum(1)
    lr = cal.pair_scorer(widths)

    def score(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
        d2 = sq[ra][:, None] + sq[rb][None, :] - 2.0 * v[ra] @ v[rb].T
        return lr(np.sqrt(np.maximum(d2, 0.0)), ra, rb)

    return score


def knn_candidates(unit_of_row: np.ndarray, nbr_rows: np.ndarray, llr: np.ndarray,
                   level: float) -> dict[tuple[int, int], float]:
    """Unit pairs (u < v) joined by a kNN face pair with log10 LR >= `level`, each with its
    strongest pair's log10 LR. `nbr_rows` holds each row's neighbours as row numbers (-1:
    none) and `llr` their log10 LRs; units < 0 take no part."""
    rows, cols = np.nonzero((nbr_rows >= 0) & (llr >= level))
    u = unit_of_row[rows]
    v = unit_of_row[nbr_rows[rows, cols]]
    s = llr[rows, cols]
    keep = (u >= 0) & (v >= 0) & (u != v)
    u, v, s = u[keep], v[keep], s[keep]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    out: dict[tuple[int, int], float] = {}
    order = np.argsort(s, kind="stable")  # ascending, so the strongest pair is written last
    for x, y, val in zip(lo[order].tolist(), hi[order].tolist(), s[order].tolist()):
        out[(x, y)] = val
    return out
