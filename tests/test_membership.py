"Membership inference: ROC/AUC against brute force, the DP limits, and attacks that find a copying generator."
import math
import numpy as np
import pytest
from trajstudy import membership as mi


def test_auc_matches_pairwise_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = rng.integers(0, 4, 25).astype(float); y = rng.random(25) < 0.5
        if y.all() or not y.any(): continue
        pairs = (s[y][:, None] > s[~y][None]).mean() + 0.5 * (s[y][:, None] == s[~y][None]).mean()
        assert mi.roc_auc(s, y) == pytest.approx(pairs)


def test_tpr_at_fpr_is_a_reachable_point():
    s, y = [0.9, 0.8, 0.4, 0.7, 0.4], [1, 1, 1, 0, 0]
    assert mi.tpr_at_fpr(s, y, 0.0) == pytest.approx(2 / 3)
    assert mi.tpr_at_fpr(s, y, 1.0) == 1.0
    with pytest.raises(ValueError): mi.roc_curve([1.0, 2.0], [1, 1])


def test_dp_limits():
    for e in (0.0, 0.5, 2.0, 8.0):
        assert mi.dp_max_auc(e) == pytest.approx(math.exp(e) / (1 + math.exp(e)), abs=1e-9)
    f = np.linspace(0, 1, 100001)
    assert mi.dp_max_auc(1.0, 0.01) == pytest.approx(np.trapezoid(mi.dp_max_tpr(f, 1.0, 0.01), f), abs=1e-7)
    assert mi.dp_max_tpr(0.01, 2.0, 1e-5) == pytest.approx(math.exp(2) * 0.01 + 1e-5)
    assert mi.dp_max_auc(math.inf) == 1.0


def test_attacks_catch_a_copying_generator_and_not_a_fresh_one():
    rng = np.random.default_rng(5)
    pop = lambda n: rng.normal(size=(n, 4, 3))
    mem, non, ref = pop(30), pop(30), pop(200)
    leaky = np.repeat(mem, 4, 0) + 0.05 * rng.normal(size=(120, 4, 3))
    t = mi.evaluate_mia(mem, non, leaky, ref, n_boot=50)
    assert (t.auc > 0.9).all() and (t.auc_lo <= t.auc).all() and (t.n_members == 30).all()
    fresh = mi.evaluate_mia(mem, non, pop(120), ref, n_boot=50)
    assert (fresh.auc < 0.75).all()
