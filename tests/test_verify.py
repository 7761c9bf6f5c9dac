"The verifier against a brute-force attacker, on kte-hide output (must pass) and on broken outputs (must fail)."
import warnings
import numpy as np
import pandas as pd
import pytest
from trajstudy import data
from trajstudy.core import make_points
from trajstudy.verify import verify
from trajstudy.ktehide import kte_hide
from trajstudy.kmerge import GridTrajs

warnings.filterwarnings("ignore", message=".*coordinates 0,0.*")


@pytest.fixture(scope="module")
def shanghai():
    pts = data.load("shanghai-telecom", day="2014-06-14")
    users = pts.uid.unique()[:250]
    p = pts[pts.uid.isin(users)].reset_index(drop=True)
    p.attrs = pts.attrs
    return p


def brute_attacker(points, boxes, tau):
    "For every user and every minute-aligned window start, the number of records covering all published known samples."
    out = {}
    P = points.sort_values(["uid", "t"])
    def covers(b, r):
        return (b.t_min <= r.t) & (r.t < b.t_max) & (b.x_min <= r.x) & (r.x < b.x_max) & (b.y_min <= r.y) & (r.y < b.y_max)
    recs = {u: g for u, g in boxes.groupby("uid")}
    for u, g in P.groupby("uid"):
        for s in pd.date_range(g.t.min() - tau, g.t.max(), freq="1min"):
            K = g[(g.t >= s) & (g.t < s + tau)]
            own = recs.get(u)
            Kp = [r for r in K.itertuples() if own is not None and covers(own, r).any()]
            if not Kp: continue
            n = sum(all(covers(b, r).any() for r in Kp) for b in recs.values())
            out[(u, s)] = n
    return out


def test_matches_brute_force_attacker_on_random_boxes():
    rng = np.random.default_rng(0)
    t0 = pd.Timestamp("2024-01-01 08:00", tz="UTC")
    n = 60
    uid = rng.integers(0, 6, n)
    t = t0 + pd.to_timedelta(rng.integers(0, 90, n), unit="min")
    pts = make_points(uid, t, 31 + rng.integers(0, 5, n) * 0.001, 121 + rng.integers(0, 5, n) * 0.001, origin=(31.0, 121.0))
    # random boxes per user around random subsets of everybody's samples
    rows = []
    for u in range(6):
        for _ in range(6):
            S = pts.sample(3, random_state=int(rng.integers(1e9)))
            rows.append((u, S.t.min().floor("1min"), S.t.max().floor("1min") + pd.Timedelta("1min"),
                         S.x.min() - 1, S.x.max() + 1, S.y.min() - 1, S.y.max() + 1))
    boxes = pd.DataFrame(rows, columns=["uid", "t_min", "t_max", "x_min", "x_max", "y_min", "y_max"])
    tau = pd.Timedelta("20min")
    v = verify(pts, boxes, k=2, tau=tau)
    bf = brute_attacker(pts, boxes, tau)
    # every window the verifier checks equals the brute force at that start; the brute force's worst case over
    # all minute starts is never worse than the verifier's worst case (sample-start windows are the maximal ones)
    ch = v.checked
    assert len(ch) > 30 and ch.n_consistent.nunique() > 2
    for r in ch.itertuples():
        assert bf[(r.uid, r.t_start)] == r.n_consistent
    for u in ch.uid.unique():
        assert min(c for (uu, s), c in bf.items() if uu == u) == ch[ch.uid == u].n_consistent.min()


def brute_leakage(points, boxes, tau, bin_=pd.Timedelta("1min")):
    "Per (user, window start at a sample): (adjacent leakage, literal leakage), by direct enumeration."
    out = {}
    def covers(b, r):
        return bool(((b.t_min <= r.t) & (r.t < b.t_max) & (b.x_min <= r.x) & (r.x < b.x_max) & (b.y_min <= r.y) & (r.y < b.y_max)).any())
    recs = {u: g for u, g in boxes.groupby("uid")}
    for u, g in points.sort_values(["uid", "t"]).groupby("uid"):
        S = list(g.itertuples()); own = recs.get(u)
        if own is None: continue
        for j, s0 in enumerate(S):
            inw = [s0.t <= s.t < s0.t + tau for s in S]
            Kp = [s for s, w in zip(S, inw) if w and covers(own, s)]
            if not Kp: continue
            C = [b for b in recs.values() if all(covers(b, s) for s in Kp)]
            learned = [all(covers(b, s) for b in C) for s in S]
            e = max(i for i, w in enumerate(inw) if w) + 1
            a = e
            while a < len(S) and learned[a]: a += 1
            b = j - 1
            while b >= 0 and learned[b]: b -= 1
            adj = (max(S[a - 1].t + bin_ - (s0.t + tau), pd.Timedelta(0)) if a > e else pd.Timedelta(0)) + (s0.t - S[b + 1].t if b < j - 1 else pd.Timedelta(0))
            before = [s.t for i, s in enumerate(S) if i < j and learned[i]]
            after = [s.t for i, s in enumerate(S) if i >= e and learned[i]]
            lit = (s0.t - min(before) if before else pd.Timedelta(0)) + (max(max(after) + bin_ - (s0.t + tau), pd.Timedelta(0)) if after else pd.Timedelta(0))
            out[(u, s0.t)] = (adj, lit, len(C))
    return out


def test_leakage_matches_brute_force_on_random_boxes():
    rng = np.random.default_rng(5)
    t0 = pd.Timestamp("2024-01-01 08:00", tz="UTC")
    n = 50
    uid = rng.integers(0, 5, n)
    t = t0 + pd.to_timedelta(rng.choice(180, n, replace=False), unit="min")
    pts = make_points(uid, t, 31 + rng.integers(0, 3, n) * 0.001, 121 + rng.integers(0, 3, n) * 0.001, origin=(31.0, 121.0))
    rows = []
    for u in range(5):                                  # boxes around random sets of samples: records cover each other in patches
        for _ in range(10):
            S = pts.sample(int(rng.integers(2, 6)), random_state=int(rng.integers(1e9)))
            rows.append((u, S.t.min().floor("1min"), S.t.max().floor("1min") + pd.Timedelta("1min"),
                         S.x.min() - 1, S.x.max() + 1, S.y.min() - 1, S.y.max() + 1))
    boxes = pd.DataFrame(rows, columns=["uid", "t_min", "t_max", "x_min", "x_max", "y_min", "y_max"])
    tau = pd.Timedelta("20min")
    v = verify(pts, boxes, k=2, tau=tau, max_leak="10min")
    bf = brute_leakage(pts, boxes, tau)
    ch = v.checked
    assert len(ch) > 20 and (ch.leakage > pd.Timedelta(0)).sum() > 5 and (ch.leakage_literal > ch.leakage).sum() > 0
    for r in ch.itertuples():
        adj, lit, nc = bf[(r.uid, r.t_start)]
        assert (r.leakage, r.leakage_literal, r.n_consistent) == (adj, lit, nc), (r.uid, r.t_start)
    assert set(v.leaks.index) == set(ch[ch.leakage > pd.Timedelta("10min")].index)
    assert set(v.leaks_literal.index) >= set(v.leaks.index)


@pytest.mark.parametrize("k,tau,epoch_len", [(2, "1h", "1h"), (3, "1h", "30min"), (2, "30min", "10min")])
def test_kte_hide_output_passes(shanghai, k, tau, epoch_len):
    A = kte_hide(shanghai, k, tau, epoch_len, rng=np.random.default_rng(1), progress=False)
    v = verify(shanghai, A.boxes, k, tau, max_leak=epoch_len)
    assert len(v.violations) == 0, v.violations.head()
    assert len(v.leaks) == 0, v.leaks.head()
    assert len(v.checked) + 0 >= 0.5 * len(shanghai)
    assert v.checked.n_consistent.min() >= k


def test_catches_broken_outputs(shanghai):
    k, tau, epoch_len = 2, "1h", "1h"
    A = kte_hide(shanghai, k, tau, epoch_len, rng=np.random.default_rng(2), progress=False, repair=False)
    G = GridTrajs.from_points(shanghai)
    # 1. raw samples published as 1-minute, 100-m boxes
    raw = G.boxes_frame(G.uids[G.user_index], np.c_[G.t, G.t, G.x, G.x, G.y, G.y])
    assert verify(shanghai, raw, k, tau).violations.uid.nunique() > 200
    # 2. the records of some users withdrawn: the users they hid are exposed
    hs = A.hiding_sets
    victim = hs.uid.value_counts().index[0]
    hiders = {m for ms in hs[hs.uid == victim].members for m in ms}
    pickers = set(hs[hs.members.map(lambda ms: victim in ms)].uid)
    cut = A.boxes[~A.boxes.uid.isin(pickers)]
    v2 = verify(shanghai, cut, k, tau)
    assert victim in set(v2.violations.uid)
    # 3. each user publishing boxes of its own samples only (no merge with hiders): k-anonymity is lost
    own = A.boxes.copy()
    own_boxes = raw.merge(own[["uid"]].drop_duplicates(), on="uid")
    assert len(verify(shanghai, own_boxes, k, tau).violations) > 0
    # 4. a second copy of one user's record under another name: k holds, but the attacker follows it all day
    u = A.boxes.uid.value_counts().index[0]
    dup = pd.concat([raw[raw.uid != u], A.boxes[A.boxes.uid == u][raw.columns], A.boxes[A.boxes.uid == u][raw.columns].assign(uid="twin")])
    v4 = verify(shanghai, dup, k, tau, max_leak=epoch_len)
    assert len(v4.violations[v4.violations.uid == u]) == 0
    assert len(v4.leaks[v4.leaks.uid == u]) > 0 and v4.checked[v4.checked.uid == u].leakage.max() > pd.Timedelta("3h")


def test_bucket_index_covers_like_brute_force():
    "Boxes of mixed sizes (a minute and 100 m to a day and 100 km), empty ones included: the bucket grids find exactly the covering records."
    from trajstudy.verify import box_index, cover_lists
    rng = np.random.default_rng(4)
    n, nb = 400, 300
    pt = rng.integers(0, 86_400, n) * 10**9; px = rng.uniform(0, 50_000, n); py = rng.uniform(0, 50_000, n)
    dur = (10 ** rng.uniform(1.5, 5, nb)).astype(np.int64) * 10**9; side = 10 ** rng.uniform(2, 5, nb)
    bt0 = rng.integers(-3600, 86_400, nb) * 10**9; bx0 = rng.uniform(-5_000, 50_000, nb); by0 = rng.uniform(-5_000, 50_000, nb)
    dur[:5] = 0                                                                    # boxes that hold nothing
    brec = rng.integers(0, 40, nb)
    off, rec = cover_lists(pt, px, py, box_index(bt0, bt0 + dur, bx0, bx0 + side, by0, by0 + side, brec))
    inside = ((bt0 <= pt[:, None]) & (pt[:, None] < bt0 + dur) & (bx0 <= px[:, None]) & (px[:, None] < bx0 + side)
              & (by0 <= py[:, None]) & (py[:, None] < by0 + side))
    for s in range(n):
        assert rec[off[s]:off[s + 1]].tolist() == sorted(set(brec[inside[s]].tolist()))


def test_reverify_equals_verify_after_a_change(shanghai):
    "Half of the users' records withdrawn: re-checking the users those boxes covered gives the verification from scratch."
    from trajstudy.verify import reverify, points_in_boxes
    from trajstudy.core import validate_points
    P = validate_points(shanghai)
    A = kte_hide(P, 2, "1h", "1h", rng=np.random.default_rng(0), progress=False, repair=False)
    v = verify(P, A.boxes, 2, "1h", max_leak="1h")
    gone = A.boxes.uid.isin(P.uid.unique()[::2])
    touched = P.uid[points_in_boxes(P, A.boxes[gone])].unique()
    local = reverify(v, P, A.boxes[~gone], touched)
    full = verify(P, A.boxes[~gone], 2, "1h", max_leak="1h")
    pd.testing.assert_frame_equal(local.windows, full.windows)
    assert (local.consistent == full.consistent).all() and len(full.violations) > 0
    stale = reverify(v, P, A.boxes[~gone], touched[:1])                            # too few users re-checked: it differs
    assert not stale.windows.equals(full.windows)
