"Baselines: invariants of each method, and k-merge's optimality against GLOVE's valid outputs."
import numpy as np
import pytest
from trajstudy.baselines import static_generalization, w4m_l, glove, random_k_groups, static_anonymity
from trajstudy.kmerge import k_merge, GridTrajs
from trajstudy.core import make_points
import pandas as pd


def rand_tuple(rng, k, n_max=12, t_range=300, xy=40):
    return [np.c_[np.sort(rng.integers(0, t_range, n)), rng.integers(0, xy, (n, 2))] for n in rng.integers(1, n_max, k)]


def inside(box, s):
    return box[0] <= s[0] <= box[1] and box[2] <= s[1] <= box[3] and box[4] <= s[2] <= box[5]


def test_static_success_is_equality_of_coarse_sets():
    rng = np.random.default_rng(0)
    for _ in range(200):
        tr = rand_tuple(rng, int(rng.integers(2, 4)), n_max=4, t_range=400, xy=60)
        for period, km in (("2h", 4.0), ("8h", 20.0)):
            pt, pc = int(pd.Timedelta(period) / pd.Timedelta("1min")), int(km * 10)
            sets = [{(int(t) // pt, int(x) // pc, int(y) // pc) for t, x, y in a} for a in tr]
            assert static_generalization(tr, period, km).success == all(s == sets[0] for s in sets)


def test_w4m_accounting():
    rng = np.random.default_rng(1)
    for _ in range(100):
        tr = rand_tuple(rng, int(rng.integers(2, 6)))
        w = w4m_l(tr, time_tol=60)
        piv = max(len(a) for a in tr)
        assert len(w.boxes) == piv
        # each non-pivot trajectory: matched + created = pivot length, matched + deleted = its length
        p = int(np.argmax([len(a) for a in tr]))
        matched = sum(len(a) for i, a in enumerate(tr) if i != p) - w.deleted
        assert matched + w.created == piv * (len(tr) - 1)
        assert 0 <= w.deleted and 0 <= w.created
    same = [np.array([[0, 1, 1], [10, 2, 2]])] * 3
    w = w4m_l(same)
    assert (w.deleted, w.created) == (0, 0) and (w.time_min == 1).all() and np.allclose(w.space_km(), 0.2)


def test_glove_is_truthful_and_never_beats_kmerge():
    rng = np.random.default_rng(2)
    n_coherent = 0
    for _ in range(150):
        k = int(rng.integers(2, 5))
        tr = rand_tuple(rng, k, n_max=8)
        g = glove(tr)
        for i, a in enumerate(tr):
            for s in a: assert any(inside(b, s) for b in g.boxes)                 # nothing dropped
        for b in g.boxes:
            assert all(any(inside(b, s) for s in a) for a in tr)                    # every box holds every user
        bb = g.boxes[np.argsort(g.boxes[:, 0])]
        assert (bb[1:, 0] > bb[:-1, 1]).all() and g.time_coherent                  # always a time-coherent partition
        n_coherent += 1
        cost = ((bb[:, 1] - bb[:, 0] + 1) * ((bb[:, 3] - bb[:, 2] + 1) + (bb[:, 5] - bb[:, 4] + 1))).sum()
        assert k_merge(tr).cost <= cost                                             # k-merge is optimal among them
    assert n_coherent == 150


def test_glove_merge_is_the_least_effort_monotone_assignment():
    "Two fingerprints: the DP's assignment costs no more than any monotone assignment found by enumeration."
    from itertools import combinations_with_replacement
    from trajstudy.baselines import _efforts, _merge_fingerprints
    rng = np.random.default_rng(7)
    for _ in range(40):
        a, b = rand_tuple(rng, 2, n_max=5, t_range=200, xy=30)
        A = np.c_[a[:, 0], a[:, 0], a[:, 1], a[:, 1], a[:, 2], a[:, 2]]; B = np.c_[b[:, 0], b[:, 0], b[:, 1], b[:, 1], b[:, 2], b[:, 2]]
        if len(np.unique(a[:, 0])) < len(a) or len(np.unique(b[:, 0])) < len(b): continue
        if len(A) > len(B): A, B = B, A
        E = _efforts(A, B, 200.0, 480.0, 0.5)
        best = min(sum(E[q, j] for j, q in enumerate(asg)) for asg in combinations_with_replacement(range(len(A)), len(B)))
        out = _merge_fingerprints(A, B, E)
        assert (out[1:, 0] > out[:-1, 1]).all()
        for s in np.r_[A, B]: assert any(o[0] <= s[0] <= o[1] and o[2] <= s[2] <= o[3] and o[4] <= s[4] <= o[5] for o in out)
        # re-derive the DP's assignment cost: every B box joined the A box it shares a group with before fusing
        f = E[:, 0].copy()
        for j in range(1, len(B)): f = E[:, j] + np.minimum.accumulate(f)
        assert abs(f.min() - best) < 1e-9


def test_w4m_translation_and_trash():
    far = [np.array([[0, 0, 0], [30, 0, 0]]), np.array([[0, 100, 0], [30, 100, 0]])]
    w = w4m_l(far, delta=20)
    assert abs(w.translation - 40) < 1e-9 and w.success and w.created == 0 and w.deleted == 0
    assert np.allclose(w.space_km(), 2.2)
    w0 = w4m_l(far, delta=0)
    assert abs(w0.translation - 50) < 1e-9
    wt = w4m_l(far, trash=50)
    assert not wt.success and wt.trashed == 1 and wt.deleted == 2 and len(wt.boxes) == 0


def test_groups_and_leftovers():
    rng = np.random.default_rng(3)
    for n, k in ((10, 3), (9, 3), (101, 8)):
        groups, left = random_k_groups(n, k, rng)
        assert groups.shape[1] == k and len(left) == n % k
        assert sorted(np.r_[groups.ravel(), left].tolist()) == list(range(n))
    with pytest.raises(ValueError, match="at least 5"): random_k_groups(4, 5, rng)
    with pytest.raises(ValueError, match="k must be"): random_k_groups(4, 1, rng)


def test_static_anonymity_counts():
    t0 = pd.Timestamp("2024-01-01 08:00", tz="UTC")
    uid = ["a", "a", "b", "b", "c", "d"]
    t = [t0, t0 + pd.Timedelta("3h"), t0 + pd.Timedelta("10min"), t0 + pd.Timedelta("3h10min"), t0, t0 + pd.Timedelta("5h")]
    lat = [31.0, 31.05, 31.001, 31.051, 31.0, 31.3]; lon = [121.0] * 6
    G = GridTrajs.from_points(make_points(uid, t, lat, lon, origin=(31.0, 121.0)))
    r = static_anonymity(G, 2, "2h", 4.0)
    assert r["users_anonymous"] == 2 and r["users_suppressed"] == 2 and r["samples_suppressed"] == 2


def test_glove_publishes_no_time_overlap_and_the_measure_catches_one():
    "GLOVE's trajectories never overlap in time; without the fusing step (a broken variant) the same measure finds overlaps."
    from trajstudy.baselines import time_overlaps, fingerprint, _efforts, _merge_fingerprints
    rng = np.random.default_rng(11)
    broken = 0
    for _ in range(120):
        tr = rand_tuple(rng, 2, n_max=10, t_range=120)
        assert time_overlaps(glove(tr).boxes) == (0, 0)
        A, B = fingerprint(tr[0]), fingerprint(tr[1])
        pairs, shared = time_overlaps(_merge_fingerprints(A, B, _efforts(A, B, 200.0, 480.0, 0.5), fuse=False))
        broken += pairs > 0
        assert (pairs > 0) == (shared > 0)
    assert broken > 0


def test_edr_alignment_is_the_least_cost_monotone_matching():
    "edr_align's cost equals the minimum over every monotone partial matching (enumerated), and its matching attains it."
    from itertools import combinations
    from trajstudy.baselines import edr_align
    rng = np.random.default_rng(5)
    for _ in range(60):
        a, b = rand_tuple(rng, 2, n_max=4, t_range=100, xy=30)
        tol, gap = int(rng.integers(5, 60)), float(rng.uniform(1, 30))
        best = np.inf
        for r in range(min(len(a), len(b)) + 1):
            for ia in combinations(range(len(a)), r):
                for ib in combinations(range(len(b)), r):
                    if any(abs(a[i, 0] - b[j, 0]) > tol for i, j in zip(ia, ib)): continue
                    c = sum(np.hypot(*(a[i, 1:] - b[j, 1:]).astype(float)) for i, j in zip(ia, ib)) + gap * (len(a) + len(b) - 2 * r)
                    best = min(best, c)
        cost, m = edr_align(a, b, tol, gap)
        assert np.isclose(cost, best)
        hit = np.flatnonzero(m >= 0)
        assert (np.diff(m[hit]) > 0).all()                                              # monotone
        got = sum(np.hypot(*(a[i, 1:] - b[m[i], 1:]).astype(float)) for i in hit) + gap * (len(a) + len(b) - 2 * len(hit))
        assert np.isclose(got, cost) and all(abs(a[i, 0] - b[m[i], 0]) <= tol for i in hit)
