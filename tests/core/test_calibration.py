"""The packaged face calibration, its API for the pipeline, and the LR validation measures."""
from __future__ import annotations

import math

import numpy as np
import pytest

from forensics.faces import calibration_fit as F
from forensics.faces import lr_metrics as M
from forensics.faces.calibration import FaceQuality, from_json, load_calibration, verbal_scale

BIG, SMALL = FaceQuality(120.0, 300.0, None), FaceQuality(24.0, 40.0, 0.8)


def test_verbal_scale_follows_enfsi_2015():
    assert verbal_scale(0.0) == "no support for either proposition"
    assert verbal_scale(0.2) == "no support for either proposition"  # LR 1.6 < 2
    assert verbal_scale(0.5) == "weak support for the same person"
    assert verbal_scale(1.0) == "moderate support for the same person"
    assert verbal_scale(2.5) == "moderately strong support for the same person"
    assert verbal_scale(3.0) == "strong support for the same person"
    assert verbal_scale(5.9) == "very strong support for the same person"
    assert verbal_scale(6.0) == "extremely strong support for the same person"
    assert verbal_scale(-1.5) == "moderate support for different persons"
    assert verbal_scale(float("nan")) == "not evaluated"


def test_packaged_calibration_has_provenance_and_figures():
    cal = load_calibration()
    assert cal is load_calibration()  # cached
    assert cal.version.startswith("lfw-")
    prov = cal.provenance
    for key in ("data", "descriptor", "fitted_utc", "method", "figures", "same_pairs", "different_pairs"):
        assert prov[key], key
    assert "full-full" in prov["figures"] and "24-24" in prov["figures"]
    assert "ENFSI" in cal.summary()["scale"]


def test_lr_falls_with_distance_and_small_faces_give_weaker_evidence():
    cal = load_calibration()
    d = np.linspace(0.0, 1.2, 61)
    for qa, qb in ((BIG, BIG), (BIG, SMALL), (SMALL, SMALL)):
        v = cal.log10_lr(d, qa, qb)
        assert isinstance(v, np.ndarray) and v.shape == d.shape
        assert np.all(np.diff(v) <= 1e-12)
        assert isinstance(cal.log10_lr(0.4, qa, qb), float)
    # a close pair of two sharp photos is strong evidence; the same distance between two
    # 24 px faces is weaker (their different-person distances also come close)
    assert cal.log10_lr(0.3, BIG, BIG) > cal.log10_lr(0.3, SMALL, SMALL)
    assert cal.log10_lr(0.3, BIG, BIG) > 1.0
    assert cal.log10_lr(0.9, BIG, BIG) < -1.0
    # symmetric in the two faces
    assert cal.log10_lr(0.5, BIG, SMALL) == cal.log10_lr(0.5, SMALL, BIG)


def test_match_threshold_is_where_the_decision_flips():
    cal = load_calibration()
    for qa, qb in ((BIG, BIG), (BIG, SMALL), (FaceQuality(48.0), FaceQuality(32.0))):
        t = cal.match_threshold(qa, qb)
        assert 0.3 < t <= cal.search_radius() + 1e-9
        assert cal.is_match(t - 0.01, qa, qb) and not cal.is_match(t + 0.01, qa, qb)
        assert abs(cal.log10_lr(t, qa, qb) - cal.decision_log10_lr) < 1e-6 or cal.bounds
    assert cal.match_threshold(BIG, BIG, log10_lr=2.0) < cal.match_threshold(BIG, BIG)


def test_tiny_faces_are_leads_never_matches():
    cal = load_calibration()
    tiny = FaceQuality(12.0)
    assert not cal.reliable(tiny) and cal.reliable(SMALL) and cal.reliable(BIG)
    assert not cal.is_match(0.0, BIG, tiny)
    hit = cal.describe(0.35, BIG, tiny)
    assert hit["reliable"] is False and "log10_lr" in hit and hit["verbal"]


def test_bounds_cap_the_evidence():
    spec = {"version": "t", "model": {"coef": {"1": 10.0, "d": -20.0}},
            "bands": [{"name": "full", "min_width": 64}, {"name": "24", "min_width": 0}],
            "bounds": {"full-full": [-3.0, 2.5]}}
    cal = from_json(__import__("json").dumps(spec))
    assert cal.log10_lr(0.0, BIG, BIG) == 2.5
    assert cal.log10_lr(5.0, BIG, BIG) == -3.0
    assert cal.log10_lr(0.0, SMALL, SMALL) > 4.0  # no bounds given for that band


def test_face_quality_from_face_dict():
    q = FaceQuality.from_face({"size": 33, "sharpness": 12.5, "box": {"top": 0, "right": 40, "bottom": 40, "left": 0}})
    assert q.width_px == 33.0 and q.sharpness == 12.5 and q.confidence is None
    assert FaceQuality.from_face({"box": {"top": 0, "right": 40, "bottom": 30, "left": 0}}).width_px == 30.0


def test_cllr_known_answers():
    assert M.cllr(np.zeros(10), np.zeros(10)) == pytest.approx(1.0)
    assert M.cllr(np.full(10, 6.0), np.full(10, -6.0)) < 1e-4
    assert M.cllr(np.full(10, -2.0), np.full(10, 2.0)) > 5  # confidently wrong
    # a well-separated but badly scaled system: Cllr-min sees only the separation
    ss, ds = np.full(50, 0.1), np.full(50, -0.1)
    assert M.cllr_min(ss, ds) < 0.01 < 0.8 < M.cllr(ss, ds)
    assert M.eer(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 0.0
    assert M.misleading(np.array([-3.0, 1.0]), np.array([0.5, -1.0]), 2.0) == (0.5, 0.0)


def test_pav_is_monotone_and_pools_violators():
    out = M.pav(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 1, 0, 1]))
    assert out.tolist() == [0.0, 0.5, 0.5, 1.0]


def test_fit_recovers_a_known_size_dependence():
    rng = np.random.default_rng(1)
    n = 40000
    w = rng.choice([24.0, 48.0, 110.0], n)
    w2 = np.full(n, 110.0)
    same = rng.random(n) < 0.5
    spread = 0.05 + 0.1 * (24.0 / w)  # smaller faces: noisier distances
    d = np.where(same, 0.4, 0.75) + rng.normal(0, 1, n) * spread
    X = F.design(d, w, w2)
    beta = F.fit_logistic(X, same.astype(float), F.balanced_weights(same, w.astype(str)))
    llr = F.log10_lr(beta, X)
    big, small = w == 110.0, w == 24.0
    assert M.cllr(llr[big & same], llr[big & ~same]) < M.cllr(llr[small & same], llr[small & ~same])
    # calibrated: no calibration loss worth the name in either band
    for m in (big, small):
        assert M.cllr(llr[m & same], llr[m & ~same]) - M.cllr_min(llr[m & same], llr[m & ~same]) < 0.05
    lo, hi = F.elub(llr[same], llr[~same])
    assert lo < 0 < hi and math.isfinite(lo) and math.isfinite(hi)
