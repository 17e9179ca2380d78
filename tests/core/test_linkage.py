"""The corroborated linkage rule on explicit log10 LR matrices (no descriptors needed)."""
from __future__ import annotations

import numpy as np

from forensics.faces.linkage import LinkRule, corroborated_linkage, knn_candidates

RULE = LinkRule(pair_log10_lr=1.5, seed_log10_lr=2.5, mean_log10_lr=1.5, single_mean_log10_lr=1.5, single_share=0.25)


def run(S: np.ndarray, rule: LinkRule = RULE, cannot: list[set[int]] | None = None,
        fixed: dict[int, int] | None = None, forbidden: dict[int, set[int]] | None = None) -> list[int]:
    n = len(S)
    nbr = np.array([[j for j in range(n) if j != i] for i in range(n)])
    llr = np.take_along_axis(S, nbr, 1)
    cand = knn_candidates(np.arange(n), nbr, llr, 1.0)
    return corroborated_linkage([np.array([i]) for i in range(n)], [1] * n, lambda a, b: S[np.ix_(a, b)], cand, rule,
                                cannot or [set() for _ in range(n)], fixed, forbidden)


def groups(labels: list[int]) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for i, lab in enumerate(labels):
        out.setdefault(lab, set()).add(i)
    return {frozenset(g) for g in out.values()}


def two_groups(cross: float) -> np.ndarray:
    S = np.full((6, 6), cross)
    S[:3, :3] = S[3:, 3:] = 3.5
    np.fill_diagonal(S, 0.0)
    return S


def test_a_single_strong_pair_between_two_groups_does_not_merge_them_when_the_cross_pairs_disagree():
    S = two_groups(-1.0)
    S[2, 3] = S[3, 2] = 3.9  # one pair as strong as the same person's, the other eight say "different"
    assert groups(run(S)) == {frozenset({0, 1, 2}), frozenset({3, 4, 5})}
    # the same two groups whose cross pairs agree are one identity
    assert groups(run(two_groups(2.5))) == {frozenset(range(6))}


def test_two_single_faces_never_merge_on_their_own_pair_however_strong():
    S = np.full((3, 3), -1.0)
    S[0, 1] = S[1, 0] = 3.9  # siblings reach this too: no third face corroborates it
    labels = run(S)
    assert len(set(labels)) == 3
    # a third face strong with both corroborates: the three form one group
    S[0, 2] = S[2, 0] = S[1, 2] = S[2, 1] = 3.0
    assert groups(run(S)) == {frozenset({0, 1, 2})}
    # ...unless the third face shares a photo with one of them
    assert len(set(run(S, cannot=[{2}, set(), {0}]))) == 3


def test_a_single_face_joins_a_group_only_with_most_of_its_faces():
    S = np.full((6, 6), 3.5)
    np.fill_diagonal(S, 0.0)
    S[5, :] = S[:, 5] = -0.5
    S[5, 0] = S[0, 5] = 3.9  # strong with one of the five faces only: mean below the level
    labels = run(S)
    assert groups(labels) == {frozenset(range(5)), frozenset({5})}
    S[5, :5] = S[:5, 5] = 2.0  # supported by all five
    assert groups(run(S)) == {frozenset(range(6))}


def test_fixed_persons_keep_their_label_and_are_never_joined_to_each_other():
    S = np.full((4, 4), 3.5)
    np.fill_diagonal(S, 0.0)
    labels = run(S, fixed={0: 7, 1: 9})
    assert labels[0] == 7 and labels[1] == 9
    # the free faces may follow one person, never both; a rejection keeps face 3 out of 7
    labels = run(S, fixed={0: 7}, forbidden={3: {7}})
    assert labels[0] == 7 and labels[3] != 7
