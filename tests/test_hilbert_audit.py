"""Empirical privacy audit of the Hilbert mechanism: neighbouring datasets, many runs, Clopper-Pearson lower bound on eps.

For neighbours D, D' and an output event E, any (eps, delta)-DP mechanism has P[E|D] <= e^eps P[E|D'] + delta.
With n runs on each side, Clopper-Pearson gives (1 - alpha) bounds p_lo on P[E|D] and p_hi on P[E|D'], hence
eps >= ln((p_lo - delta) / p_hi) with confidence 1 - 2 alpha. Published mode must be caught (bound above its
claimed eps); sound mode must stay within its ledger.
"""
import math

import numpy as np
import pytest
from scipy import stats

from trajstudy import hilbert_dp as hd
from trajstudy.privacy import PrivacyLedger

ALPHA = 0.01


def cp_lower(x, n, a=ALPHA):
    return 0.0 if x == 0 else float(stats.beta.ppf(a, x, n - x + 1))


def cp_upper(x, n, a=ALPHA):
    return 1.0 if x == n else float(stats.beta.ppf(1 - a, x + 1, n - x))


def eps_lower_bound(hits_d, hits_dp, n, delta=0.0):
    """Largest eps the two event frequencies prove, in both directions."""
    best = 0.0
    for a, b in ((hits_d, hits_dp), (hits_dp, hits_d)):
        lo, hi = cp_lower(a, n) - delta, cp_upper(b, n)
        if lo > 0:
            best = max(best, math.log(lo / hi))
    return best


def run_counts(labels, mode, eps_parts, n, seed, delta=1e-3):
    """Outputs of the count release (Algorithms 2-4) on fixed partitions."""
    rng = np.random.default_rng(seed)
    centers = [np.array([[0.0, 0.0], [1000.0, 0.0]])] * labels.shape[1]
    out, led = [], None
    for _ in range(n):
        led = PrivacyLedger()
        paths, table, info = hd.release_counts(labels, centers, *eps_parts, rng, led, mode, delta=delta)
        out.append(table)
    return out, led


# ---- 1. the count release (Algorithms 2-4) on neighbouring generalized datasets ----
def test_published_count_release_is_caught():
    """D: two generalized trajectories with counts (1, 1); D': one more copy of the first -> (2, 1).

    The stopping rule of Algorithm 3 compares errors of the TRUE counts: with eps_count = 1.5 it never splits
    (1, 1) and always splits (2, 1), so "the two published counts differ" has probability 0 vs 1.
    """
    D = np.array([[0], [1]])
    Dp = np.array([[0], [0], [1]])
    parts = (0.5, 0.5, 1.5)  # eps_sort (claimed free), eps_div, eps_count
    n = 1500
    outs_d, led = run_counts(D, "published", parts, n, 1)
    outs_dp, _ = run_counts(Dp, "published", parts, n, 2)
    claimed = led.eps
    ev = lambda t: t["count"].nunique() > 1
    hd_, hdp = sum(map(ev, outs_d)), sum(map(ev, outs_dp))
    lb = eps_lower_bound(hd_, hdp, n)
    assert claimed <= 2.0
    assert lb > claimed + 1.0, (hd_, hdp, lb, claimed)


def test_sound_count_release_within_ledger():
    """Same neighbours, counts large enough to pass the support threshold: (30, 30) vs (31, 30)."""
    D = np.array([[0]] * 30 + [[1]] * 30)
    Dp = np.array([[0]] * 31 + [[1]] * 30)
    parts = (1.0, 0.5, 1.5)
    n = 1500
    delta = 1e-3
    outs_d, led = run_counts(D, "sound", parts, n, 3, delta)
    outs_dp, _ = run_counts(Dp, "sound", parts, n, 4, delta)
    claimed = led.total()[0]
    events = {
        "groups differ": lambda t: t["count"].nunique() > 1,
        "total > 60.5": lambda t: t["count"].sum() > 60.5,
        "first count > 30.5": lambda t: len(t) > 0 and t["count"].iat[0] > 30.5,
    }
    for name, ev in events.items():
        a, b = sum(map(ev, outs_d)), sum(map(ev, outs_dp))
        lb = eps_lower_bound(a, b, n, delta)
        assert lb <= claimed, (name, a, b, lb, claimed)


# ---- 2. end to end: publish() on tiny neighbouring trajectory sets ----
def tiny(extra):
    rng = np.random.default_rng(0)
    T = 2
    xy = rng.normal(0, 200, (40, T, 2))  # 40 users downtown
    if extra:
        xy = np.vstack([xy, np.full((1, T, 2), 8000.0)])  # one user far away
    return xy


def far_published(r):
    return bool(len(r.paths)) and bool((r.paths[..., 0] > 5000).any())


def audit_publish(mode, eps, n, **kw):
    D, Dp = tiny(False), tiny(True)
    hits, led = [], None
    for data, seed in ((D, 10), (Dp, 11)):
        rng = np.random.default_rng(seed)
        h = 0
        for _ in range(n):
            r = hd.publish(data, eps, 1, rng=rng, mode=mode, **kw)
            h += far_published(r)
            led = r.ledger
        hits.append(h)
    return hits, led


def test_published_mode_end_to_end_is_caught():
    """The far user is published as their own generalized trajectory: probability 1 with them, 0 without."""
    n = 400
    (a, b), led = audit_publish("published", 1.0, n)
    lb = eps_lower_bound(a, b, n)
    assert led.eps <= 1.0 + 1e-9
    assert lb > 2.0, (a, b, lb)


def test_sound_mode_end_to_end_within_ledger():
    n = 400
    delta = 1e-3
    (a, b), led = audit_publish("sound", 4.0, n, bounds=(-10_000, 10_000, -10_000, 10_000), delta=delta)
    eps_total, d = led.total()
    assert led.sound and d == delta
    assert eps_lower_bound(a, b, n, delta) <= eps_total, (a, b)
