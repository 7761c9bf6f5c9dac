"k-merge against an independent brute force over every valid partition, and its batch entry points."
import itertools
import numpy as np
import pytest
from trajstudy.kmerge import k_merge, k_merge_reference, k_merge_many, pairwise_costs, sample_cost


def brute_force(trajs):
    "Cheapest time-coherent partition of all samples in which every part holds every trajectory (enumeration)."
    S = [(int(r[0]), int(r[1]), int(r[2]), i) for i, a in enumerate(trajs) for r in np.asarray(a)]
    ts = sorted({s[0] for s in S})
    best, best_parts = np.inf, None
    for cuts in itertools.product((0, 1), repeat=len(ts) - 1):
        seg_of_t = dict(zip(ts, np.r_[0, np.cumsum(cuts)]))
        parts = {}
        for s in S: parts.setdefault(seg_of_t[s[0]], []).append(s)
        if any(len({s[3] for s in p}) < len(trajs) for p in parts.values()): continue
        cost = 0
        for p in parts.values():
            t, x, y = zip(*[s[:3] for s in p])
            cost += (max(t) - min(t) + 1) * ((max(x) - min(x) + 1) + (max(y) - min(y) + 1))
        if cost < best: best, best_parts = cost, parts
    return best, best_parts


def random_case(rng, k, n_max=4, t_range=7, xy_range=6):
    return [np.c_[np.sort(rng.integers(0, t_range, n)), rng.integers(0, xy_range, (n, 2))]
            for n in rng.integers(1, n_max + 1, k)]


@pytest.mark.parametrize("k", [2, 3, 4])
def test_optimal_cost_matches_brute_force(k):
    rng = np.random.default_rng(100 + k)
    n_ties = 0
    for _ in range(300):
        trajs = random_case(rng, k, n_max=4 if k < 4 else 3, t_range=6)   # small time range: many ties
        allt = np.concatenate([a[:, 0] for a in trajs])
        n_ties += len(allt) - len(np.unique(allt))
        m = k_merge(trajs)
        bf, _ = brute_force(trajs)
        assert m.cost == bf, trajs
        # the returned partition is valid and its cost is what it claims
        assert sum(sample_cost(np.array([trajs[i][j] for i, j in g])) for g in m.groups) == m.cost
        assert all({i for i, _ in g} == set(range(k)) for g in m.groups)
        tmax = [max(trajs[i][j][0] for i, j in g) for g in m.groups]
        tmin = [min(trajs[i][j][0] for i, j in g) for g in m.groups]
        assert all(a < b for a, b in zip(tmax[:-1], tmin[1:]))        # strict time coherence: ties never split
        assert sorted(p for g in m.groups for p in g) == sorted((i, j) for i, a in enumerate(trajs) for j in range(len(a)))
    assert n_ties > 100   # the cases did exercise ties


def test_reference_agrees_and_is_optimal():
    rng = np.random.default_rng(7)
    for _ in range(200):
        trajs = random_case(rng, int(rng.integers(2, 5)), n_max=6, t_range=15, xy_range=20)
        c_ref, group, order = k_merge_reference(trajs)
        assert c_ref == k_merge(trajs).cost


def test_longer_inputs_against_reference():
    "Longer trajectories (brute force is out of reach): compiled DP equals the plain-Python one."
    rng = np.random.default_rng(8)
    for _ in range(20):
        trajs = random_case(rng, int(rng.integers(2, 6)), n_max=40, t_range=200, xy_range=50)
        assert k_merge_reference(trajs)[0] == k_merge(trajs).cost


def test_batch_and_pairwise_match_single_merges():
    rng = np.random.default_rng(9)
    users = random_case(rng, 25, n_max=8, t_range=40, xy_range=30)
    offs = np.r_[0, np.cumsum([len(a) for a in users])]
    flat = np.concatenate(users)
    P = pairwise_costs(flat[:, 0], flat[:, 1], flat[:, 2], offs)
    for i in range(25):
        for j in range(25):
            if i != j: assert P[i, j] == k_merge([users[i], users[j]]).cost
    tuples = [tuple(rng.choice(25, size=int(rng.integers(2, 6)), replace=False)) for _ in range(50)]
    runs = []
    for tp in tuples:
        r = np.concatenate([np.c_[users[u], np.full(len(users[u]), q)] for q, u in enumerate(tp)])
        runs.append(r[np.argsort(r[:, 0], kind="stable")])
    flat = np.concatenate(runs); offs = np.r_[0, np.cumsum([len(r) for r in runs])]
    costs, gid = k_merge_many(flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3], offs)
    for m, tp in enumerate(tuples):
        assert costs[m] == brute_or_merge(users, tp)
        g = gid[offs[m]:offs[m + 1]]; r = runs[m]
        assert (np.diff(g) >= 0).all() and g[0] == 0
        for z in np.unique(g): assert set(r[g == z, 3]) == set(range(len(tp)))


def brute_or_merge(users, tp):
    trajs = [users[u] for u in tp]
    return brute_force(trajs)[0] if sum(len(a) for a in trajs) <= 11 else k_merge(trajs).cost


def test_bad_inputs_are_refused():
    a = np.array([[0, 0, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match="k >= 2"): k_merge([a])
    with pytest.raises(ValueError, match="empty"): k_merge([a, np.zeros((0, 3))])
    with pytest.raises(ValueError, match="not sorted"): k_merge([a, a[::-1]])
    with pytest.raises(ValueError, match="fractional"): k_merge([a, a + 0.25])
    with pytest.raises(ValueError, match="shape"): k_merge([a, a[:, :2]])
    with pytest.raises(ValueError, match="sorted"): k_merge_many([1, 0], [0, 0], [0, 0], [0, 1], [0, 2])
    with pytest.raises(ValueError, match="at least one sample"): k_merge_many([0, 1], [0, 0], [0, 0], [0, 0], [0, 2], ks=[2])
