"""Validation measures for likelihood ratios (numpy only).

All functions take log10 LRs of same-person pairs (`ss`) and different-person pairs
(`ds`). The measures are the ones of forensic LR validation (Brümmer & du Preez 2006;
Meuwly, Ramos & Haraksim 2017, "A guideline for the validation of likelihood ratio
methods used for forensic evidence evaluation", Forensic Sci. Int. 276):

* Cllr, the log-likelihood-ratio cost (bits): 0 is perfect, 1 is an uninformative
  system that always says LR = 1; above 1 the LRs mislead.
* Cllr-min, the Cllr after the optimal monotone re-calibration (pool-adjacent-violators):
  the discrimination alone. Cllr - Cllr-min is the calibration loss.
* EER, the equal error rate of the score used as a decision.
* The rates of misleading evidence: LR > 1 for different people, LR < 1 for the same
  person (and the same beyond a stronger bound, e.g. |log10 LR| > 2).
"""
from __future__ import annotations

import numpy as np

LN10 = float(np.log(10.0))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def cllr(ss: np.ndarray, ds: np.ndarray) -> float:
    """Log-likelihood-ratio cost in bits of log10 LRs."""
    ss, ds = np.asarray(ss, float) * LN10, np.asarray(ds, float) * LN10
    if not len(ss) or not len(ds):
        return float("nan")
    return float((np.mean(_softplus(-ss)) + np.mean(_softplus(ds))) / (2 * np.log(2)))


def pav(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Pool-adjacent-violators: the non-decreasing fit of `labels` (0/1) ordered by
    `scores`, returned in the input order (isotonic regression, weighted)."""
    scores = np.asarray(scores, float)
    order = np.argsort(scores, kind="mergesort")
    y = np.asarray(labels, float)[order]
    w = np.ones_like(y) if weights is None else np.asarray(weights, float)[order]
    vals: list[float] = []
    wts: list[float] = []
    cnt: list[int] = []
    for yi, wi in zip(y, w):
        vals.append(yi)
        wts.append(wi)
        cnt.append(1)
        while len(vals) > 1 and vals[-2] >= vals[-1]:
            wsum = wts[-2] + wts[-1]
            v = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / wsum
            c = cnt[-2] + cnt[-1]
            vals[-2:], wts[-2:], cnt[-2:] = [v], [wsum], [c]
    fitted = np.repeat(vals, cnt)
    out = np.empty_like(fitted)
    out[order] = fitted
    return out


def pav_log10_lr(ss: np.ndarray, ds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The optimally re-calibrated log10 LRs (PAV on the pooled scores, prior removed)."""
    ss, ds = np.asarray(ss, float), np.asarray(ds, float)
    scores = np.concatenate([ss, ds])
    labels = np.concatenate([np.ones(len(ss)), np.zeros(len(ds))])
    p = np.clip(pav(scores, labels), 1e-12, 1 - 1e-12)
    llr = np.log10(p / (1 - p)) - np.log10(len(ss) / len(ds))
    return llr[:len(ss)], llr[len(ss):]


def cllr_min(ss: np.ndarray, ds: np.ndarray) -> float:
    """Cllr after optimal monotone re-calibration: the discrimination loss alone."""
    if not len(ss) or not len(ds):
        return float("nan")
    a, b = pav_log10_lr(ss, ds)
    return cllr(a, b)


def eer(ss: np.ndarray, ds: np.ndarray) -> float:
    """Equal error rate, the score (higher = more similar) used as a decision."""
    ss, ds = np.sort(np.asarray(ss, float)), np.sort(np.asarray(ds, float))
    if not len(ss) or not len(ds):
        return float("nan")
    thr = np.unique(np.concatenate([ss, ds]))
    miss = np.searchsorted(ss, thr, side="left") / len(ss)  # same-person pairs below the threshold
    fa = 1.0 - np.searchsorted(ds, thr, side="left") / len(ds)  # different-person at or above it
    i = int(np.argmin(np.abs(miss - fa)))
    return float((miss[i] + fa[i]) / 2)


def misleading(ss: np.ndarray, ds: np.ndarray, bound: float = 0.0) -> tuple[float, float]:
    """(rate of same-person pairs with log10 LR < -bound, rate of different-person pairs
    with log10 LR > bound)."""
    ss, ds = np.asarray(ss, float), np.asarray(ds, float)
    return (float(np.mean(ss < -bound)) if len(ss) else float("nan"),
            float(np.mean(ds > bound)) if len(ds) else float("nan"))


def summary(ss: np.ndarray, ds: np.ndarray) -> dict:
    """All measures of one set of pairs, rounded for reports."""
    m0 = misleading(ss, ds, 0.0)
    m2 = misleading(ss, ds, 2.0)
    return {"same_pairs": int(len(ss)), "different_pairs": int(len(ds)),
            "cllr": round(cllr(ss, ds), 4), "cllr_min": round(cllr_min(ss, ds), 4), "eer": round(eer(ss, ds), 4),
            "misleading_same": round(m0[0], 5), "misleading_different": round(m0[1], 5),
            "misleading_same_strong": round(m2[0], 5), "misleading_different_strong": round(m2[1], 5)}
