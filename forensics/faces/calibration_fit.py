"""Fitting the face calibration (used by bench/calibration.py; numpy and scipy only).

The model is logistic regression of "same person" on the distance, with terms in the log
widths of the smaller (ls) and larger (ll) face: the natural-log LR is
a(ls, ll) + b(ls, ll) * distance. Training weights balance the two classes within each
quality band and give every band the same total weight, so the fitted log-odds are log
LRs (the prior removed) and small-face bands are fitted as carefully as full-size ones.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from forensics.faces.calibration import WIDTH_MAX, WIDTH_MIN

TERMS = ("1", "d", "ls", "ll", "d*ls", "d*ll")


def design(d: np.ndarray, wa: np.ndarray, wb: np.ndarray, terms: Sequence[str] = TERMS) -> np.ndarray:
    """The design matrix of the model terms for distances and the two faces' widths."""
    la = np.log(np.clip(np.asarray(wa, float), WIDTH_MIN, WIDTH_MAX))
    lb = np.log(np.clip(np.asarray(wb, float), WIDTH_MIN, WIDTH_MAX))
    cols = {"1": np.ones_like(la), "d": np.asarray(d, float), "ls": np.minimum(la, lb), "ll": np.maximum(la, lb)}
    out = []
    for t in terms:
        v = np.ones_like(la)
        for f in t.split("*"):
            v = v * cols[f]
        out.append(v)
    return np.stack(out, 1)


def balanced_weights(same: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Weights giving each (band, class) cell the same total."""
    same = np.asarray(same, bool)
    w = np.zeros(len(same))
    cells = [(b, s) for b in np.unique(band) for s in (True, False)]
    for b, s in cells:
        m = (band == b) & (same == s)
        if m.any():
            w[m] = 1.0 / m.sum()
    return w * len(same) / w.sum()


def fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-4) -> np.ndarray:
    """Weighted L2-regularised logistic regression (intercept column included in X)."""
    from scipy.optimize import minimize

    X = np.asarray(X, float)
    icol = np.flatnonzero(np.all(X == 1.0, axis=0))
    mu, sd = X.mean(0), X.std(0)
    mu[icol], sd[icol] = 0.0, 1.0
    flat = sd <= 1e-9 * (1.0 + np.abs(mu))  # a term constant in this data (e.g. one face size only) is not fitted
    sd[flat] = 1.0
    Z = (X - mu) / sd  # standardised, so one L2 weight suits every term
    Z[:, flat] = 0.0
    mu[flat] = 0.0
    y = np.asarray(y, float)
    sw = np.asarray(w, float) / np.sum(w)

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = Z @ beta
        p = 1.0 / (1.0 + np.exp(-z))
        val = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)) + l2 * beta @ beta)
        grad = Z.T @ (sw * (p - y)) + 2 * l2 * beta
        return val, grad

    res = minimize(loss, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B")
    beta = res.x / sd
    if len(icol):
        beta[icol[0]] -= float(np.sum(beta * mu))
    return beta


def log10_lr(beta: np.ndarray, X: np.ndarray) -> np.ndarray:
    return (X @ beta) / math.log(10.0)


def elub(ss: np.ndarray, ds: np.ndarray) -> tuple[float, float]:
    """Empirical lower and upper bounds (log10) after Vergeer et al. (2016): the largest
    LR the data support is where the observed proportion of same-person to
    different-person LRs beyond it stops exceeding the LR itself, with one
    pseudo-observation of the other class so a finite data set never supports an
    infinite LR."""
    ss, ds = np.sort(np.asarray(ss, float)), np.sort(np.asarray(ds, float))
    n1, n2 = len(ss), len(ds)

    def upper() -> float:
        best = 0.0
        for t in np.unique(ss[ss > 0]):
            p1 = (n1 - np.searchsorted(ss, t, "left")) / (n1 + 1)
            p2 = (n2 - np.searchsorted(ds, t, "left") + 1) / (n2 + 1)
            if math.log10(p1 / p2) >= t:
                best = float(t)
            else:
                break
        return best

    def lower() -> float:
        best = 0.0
        for t in np.unique(ds[ds < 0])[::-1]:
            p2 = np.searchsorted(ds, t, "right") / (n2 + 1)
            p1 = (np.searchsorted(ss, t, "right") + 1) / (n1 + 1)
            if math.log10(p1 / p2) <= t:
                best = float(t)
            else:
                break
        return best

    return lower(), upper()
