"kte-hide: the hiding-set constraints of the paper, truthfulness of the boxes, accounting, and bad inputs."
import warnings
import numpy as np
import pandas as pd
import pytest
from trajstudy import data
from trajstudy.core import make_points
from trajstudy.ktehide import kte_hide
from trajstudy.verify import verify

warnings.filterwarnings("ignore", message=".*coordinates 0,0.*")


@pytest.fixture(scope="module")
def shanghai():
    pts = data.load("shanghai-telecom", day="2014-06-14")
    p = pts[pts.uid.isin(pts.uid.unique()[:300])].reset_index(drop=True)
    p.attrs = pts.attrs
    return p


@pytest.mark.parametrize("k,tau,epoch_len,suppression", [(2, "1h", "1h", "subset"), (3, "2h", "1h", "subset"), (2, "1h", "30min", "node")])
def test_constraints_and_truthfulness(shanghai, k, tau, epoch_len, suppression):
    A = kte_hide(shanghai, k, tau, epoch_len, rng=np.random.default_rng(0), progress=False, repair=False, suppression=suppression)
    r = A.params["r"]
    hs = A.hiding_sets
    # k-1 distinct hiders, never the user itself
    assert (hs.members.map(len) == k - 1).all()
    assert not any(u in m for u, m in zip(hs.uid, hs.members))
    # reuse constraint: a user never hides the same user twice
    for u, g in hs.groupby("uid"):
        allm = [x for m in g.members for x in m]
        assert len(allm) == len(set(allm)), u
    # k-pick: in every window, every user with a hiding set is picked by exactly k-1 others
    for m, g in hs.groupby("window"):
        picked = pd.Series([x for ms in g.members for x in ms]).value_counts()
        assert set(picked.index) == set(g.uid) and (picked == k - 1).all()
    # truthfulness: every published box of a user holds at least one of its true samples
    P = shanghai
    for u, b in A.boxes.groupby("uid"):
        S = P[P.uid == u]
        t = S.t.to_numpy(); x = S.x.to_numpy(); y = S.y.to_numpy()
        inside = ((b.t_min.to_numpy()[:, None] <= t) & (t < b.t_max.to_numpy()[:, None]) & (b.x_min.to_numpy()[:, None] <= x)
                  & (x < b.x_max.to_numpy()[:, None]) & (b.y_min.to_numpy()[:, None] <= y) & (y < b.y_max.to_numpy()[:, None]))
        assert inside.any(1).all(), u
        # time coherence of each user's record
        bb = b.sort_values("t_min")
        assert (bb.t_min.to_numpy()[1:] >= bb.t_max.to_numpy()[:-1]).all()
        # every true sample is either inside a box of its own record or suppressed
        sup = A.suppressed[A.suppressed.uid == u]
        covered = inside.any(0)
        assert covered.sum() + len(sup) >= len(S)
    assert A.stats["n_published"] + A.stats["n_suppressed"] == len(P)
    assert (A.boxes.chi <= 1 + (r + 1) * (k - 1)).all()
    assert set(A.timings) >= {"costs_and_clusters", "hiding_sets", "merge", "total"}
    # the paper's eligibility rule: a hiding set for window w only for users with samples in its last epoch w + r
    E0 = A.params["epoch_origin"]; el = A.params["epoch_len"]
    ep = ((P.t - E0) // el).to_numpy()
    present = set(zip(P.uid, ep))
    assert all((u, w + r) in present for u, w in zip(hs.uid, hs.window))
    # and every user-epoch with samples is covered by some hiding set of the user, or suppressed there
    have = set(zip(hs.uid, hs.window))
    sup = set(zip(A.suppressed.uid, A.suppressed.epoch))
    for u, e in present:
        assert (u, e) in sup or any((u, w) in have for w in range(e - r, e + 1)), (u, e)


def test_suppresses_what_cannot_be_hidden():
    "Three users, k = 2: the one active alone in an hour cannot be hidden and is suppressed there, nothing else."
    t0 = pd.Timestamp("2024-01-01 08:00", tz="UTC")
    rows = []
    for u in ("a", "b"):
        for m in range(0, 180, 15): rows.append((u, t0 + pd.Timedelta(minutes=m + (u == "b")), 31.0, 121.0 + 0.001 * (u == "b")))
    rows += [("c", t0 + pd.Timedelta(minutes=m), 31.01, 121.01) for m in range(0, 180, 20)]
    rows += [("c", t0 + pd.Timedelta(minutes=200), 31.01, 121.01)]     # c alone in hour 3
    rows += [("a", t0 + pd.Timedelta(minutes=181), 31.0, 121.0), ("b", t0 + pd.Timedelta(minutes=260), 31.0, 121.0)]
    p = pd.DataFrame(rows, columns=["uid", "t", "lat", "lon"])
    pts = make_points(p.uid, p.t, p.lat, p.lon)
    A = kte_hide(pts, 2, "1h", "1h", rng=np.random.default_rng(0), progress=False)
    assert A.stats["n_published"] + A.stats["n_suppressed"] == len(pts)
    assert A.stats["n_suppressed"] > 0
    # hour 3 (11:00-12:00) has users a, c present only if they share a label; nothing published may hide nobody
    assert len(verify(pts, A.boxes, 2, "1h").violations) == 0


def test_repair_enforces_leakage_bound(shanghai):
    "With the ε repair the verifier, and a brute-force leakage check on a sample of windows, find nothing beyond ε."
    A0 = kte_hide(shanghai, 2, "1h", "1h", rng=np.random.default_rng(3), progress=False, repair=False)
    A = kte_hide(shanghai, 2, "1h", "1h", rng=np.random.default_rng(3), progress=False)
    v0 = verify(shanghai, A0.boxes, 2, "1h", max_leak="1h")
    v = verify(shanghai, A.boxes, 2, "1h", max_leak="1h")
    assert len(v0.leaks) > 0                                  # the paper's construction alone leaks beyond ε
    assert len(v.violations) == 0 and len(v.leaks) == 0       # repaired
    assert A.stats["n_published"] + A.stats["n_suppressed"] == len(shanghai)
    assert A.stats["leaks_over_epoch"] == 0 and A.stats["violations"] == 0
    # brute force on the windows that leaked before the repair: consistent records, then the adjacent learned runs
    B = {u: g for u, g in A.boxes.groupby("uid")}
    def covers(b, t, x, y):
        return bool(((b.t_min <= t) & (t < b.t_max) & (b.x_min <= x) & (x < b.x_max) & (b.y_min <= y) & (y < b.y_max)).any())
    P = shanghai.sort_values(["uid", "t"])
    for r in v0.leaks.sample(min(25, len(v0.leaks)), random_state=0).itertuples():
        S = P[P.uid == r.uid].reset_index(drop=True)
        inw = (S.t >= r.t_start) & (S.t < r.t_start + pd.Timedelta("1h"))
        own = B.get(r.uid)
        if own is None: continue
        K = [s for s in S[inw].itertuples() if covers(own, s.t, s.x, s.y)]
        if not K: continue
        C = [g for g in B.values() if all(covers(g, s.t, s.x, s.y) for s in K)]
        learned = [all(covers(g, s.t, s.x, s.y) for g in C) for s in S.itertuples()]
        idx = np.flatnonzero(inw)
        a = idx[-1] + 1
        while a < len(S) and learned[a]: a += 1
        b = idx[0] - 1
        while b >= 0 and learned[b]: b -= 1
        leak = pd.Timedelta(0)
        if a > idx[-1] + 1: leak += max(S.t[a - 1] + pd.Timedelta("1min") - (r.t_start + pd.Timedelta("1h")), pd.Timedelta(0))
        if b < idx[0] - 1: leak += r.t_start - S.t[b + 1]
        assert len(C) >= 2 and leak <= pd.Timedelta("1h"), (r.uid, r.t_start, len(C), leak)


def test_local_repair_step_equals_a_full_remerge_and_verification(shanghai):
    "One repair step re-merges only the changed merges and re-verifies only the users they cover: the same boxes and verdicts as doing everything again."
    from trajstudy.core import validate_points, validate_boxes
    from trajstudy.ktehide import (GridTrajs, epochs_of, cluster_epochs, choose_hiding_sets, repair_state, repair_step, merge_epochs)
    P = validate_points(shanghai)
    E = epochs_of(GridTrajs.from_points(P), "1h")
    lab, _ = cluster_epochs(E, 2, np.random.default_rng(1))
    hide, supp, lab, _ = choose_hiding_sets(E, lab, 2, 1)
    S = repair_state(E, hide, E.present & ~supp, 1)
    v = verify(P, S.boxes, 2, "1h", max_leak="1h")
    for _ in range(2):                                    # two rounds: the second starts from a locally verified state
        v, n = repair_step(v, E, P, hide, 1, lab, S)
        B, _ = merge_epochs(E, hide, S.publish, 1, S.cuts, S.extra)
        pd.testing.assert_frame_equal(validate_boxes(S.boxes), validate_boxes(B))
        full = verify(P, B, 2, "1h", max_leak="1h")
        pd.testing.assert_frame_equal(v.windows, full.windows)
        assert (v.consistent == full.consistent).all()
        assert 0 < n["users_reverified"] < P.uid.nunique()


def test_bad_inputs(shanghai):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="k must be"): kte_hide(shanghai, 1, "1h", "1h", rng=rng)
    with pytest.raises(ValueError, match="multiple of epoch_len"): kte_hide(shanghai, 2, "1h", "40min", rng=rng)
    with pytest.raises(ValueError, match="eligibility must be"): kte_hide(shanghai, 2, "1h", "1h", rng=rng, eligibility="all")
    with pytest.raises(ValueError, match="cluster_size must be"): kte_hide(shanghai, 2, "1h", "1h", rng=rng, cluster_size=1)
    with pytest.raises(ValueError, match="at least 400 users"): kte_hide(shanghai, 400, "1h", "1h", rng=rng)
    with pytest.raises(ValueError, match="empty"): kte_hide(shanghai.iloc[:0], 2, "1h", "1h", rng=rng)
    with pytest.raises(TypeError, match="Generator"): kte_hide(shanghai, 2, "1h", "1h", rng=None)
