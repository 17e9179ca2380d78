"""Grouping faces into identities without comparing all pairs.

The graph is the k-nearest-neighbour graph from the face index (k ~ 30, only edges
under a distance threshold), so cost grows with N*k, not N^2. Labels spread over it by
Chinese whispers (each node repeatedly takes the label most strongly held by its
neighbours) with constraints no peer tool applies:

* cannot-link: two nodes that share a photo or a video frame never share a label, and a
  node never takes a label it was rejected from (an analyst removed it from that person);
* must-link: faces an analyst confirmed as one person form one node with a fixed label,
  and a video track's detections form one node;
* fixed labels (analysts' persons) never move, so a re-run never undoes a decision.

The constraints hold at every step: a node checks the current labels of the nodes it
cannot be with before it moves, so no intermediate or final state violates them.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

DEFAULT_K = 30
# Without a calibration (an explicit distance): dlib's model separates identities at 0.6;
# this links only closer faces. The default rule is not this one but the calibration's
# corroborated linkage (forensics.faces.linkage), which never merges on one pair.
DEFAULT_THRESHOLD = 0.55
MAX_ITERATIONS = 30


@dataclass
class Graph:
    """Nodes are groups of faces; `adj[u]` maps neighbour node -> edge weight."""

    n: int
    adj: list[dict[int, float]]
    cannot: list[set[int]] = field(default_factory=list)
    fixed: dict[int, int] = field(default_factory=dict)  # node -> label (a person id, negative-free)
    forbidden: dict[int, set[int]] = field(default_factory=dict)  # node -> labels it may not take

    def edges(self) -> int:
        return sum(len(a) for a in self.adj) // 2


def build_graph(face_ids: np.ndarray, nbr_ids: np.ndarray, nbr_dist: np.ndarray, node_of: dict[int, int],
                n_nodes: int, threshold: float | np.ndarray) -> Graph:
    """Node graph from face kNN lists. Each face pair under `threshold` (found from either
    side, counted once) adds 1 + (threshold - distance) to its nodes' edge, so a node of
    many faces (a confirmed person, a track) pulls with the weight of all of them, counts
    dominate and closeness breaks ties. `threshold` is one distance or, from the
    calibration, one per kNN entry (it depends on both faces' sizes)."""
    thr = np.broadcast_to(np.asarray(threshold, float), nbr_dist.shape)
    mask = (nbr_dist < thr) & (nbr_ids >= 0)
    rows, cols = np.nonzero(mask)
    a = face_ids[rows]
    b = nbr_ids[rows, cols]
    w = 1.0 + (thr[rows, cols] - nbr_dist[rows, cols])
    pairs: dict[tuple[int, int], float] = {}
    for x, y, wgt in zip(a.tolist(), b.tolist(), w.tolist()):
        pairs[(x, y) if x < y else (y, x)] = wgt
    adj: list[dict[int, float]] = [dict() for _ in range(n_nodes)]
    for (x, y), wgt in pairs.items():
        u, v = node_of.get(x), node_of.get(y)
        if u is None or v is None or u == v:
            continue
        adj[u][v] = adj[u].get(v, 0.0) + wgt
        adj[v][u] = adj[v].get(u, 0.0) + wgt
    return Graph(n_nodes, adj, [set() for _ in range(n_nodes)])


def constrained_whispers(g: Graph, iterations: int = MAX_ITERATIONS, seed: int = 7, label_floor: int = 0) -> list[int]:
    """Labels for every node. Fixed nodes keep their label; free nodes start with their
    own, at or above `label_floor` (pass one more than the largest person id, so a free
    label never equals a person that has no fixed node left), and adopt their neighbours'."""
    offset = max(label_floor, (max(g.fixed.values()) + 1) if g.fixed else 0)
    labels = [g.fixed.get(u, offset + u) for u in range(g.n)]
    free = [u for u in range(g.n) if u not in g.fixed and g.adj[u]]
    rng = random.Random(seed)
    for _ in range(iterations):
        rng.shuffle(free)
        changed = 0
        for u in free:
            scores: dict[int, float] = defaultdict(float)
            for v, wgt in g.adj[u].items():
                scores[labels[v]] += wgt
            if not scores:
                continue
            banned = {labels[c] for c in g.cannot[u]}
            banned |= g.forbidden.get(u, set())
            current = labels[u]
            best, best_score = current, scores.get(current, 0.0) if current not in banned else -1.0
            for lab, sc in scores.items():
                if lab not in banned and sc > best_score:
                    best, best_score = lab, sc
            if best != current:
                labels[u] = best
                changed += 1
        if not changed:
            break
    return labels


def bcubed(predicted: dict, truth: dict) -> tuple[float, float, float]:
    """BCubed precision, recall and F over the items of `truth` (item -> cluster label)."""
    by_pred: dict = defaultdict(set)
    by_true: dict = defaultdict(set)
    for item in truth:
        by_pred[predicted[item]].add(item)
        by_true[truth[item]].add(item)
    p = r = 0.0
    for item in truth:
        same_pred = by_pred[predicted[item]]
        same_true = by_true[truth[item]]
        both = len(same_pred & same_true)
        p += both / len(same_pred)
        r += both / len(same_true)
    p, r = p / len(truth), r / len(truth)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
