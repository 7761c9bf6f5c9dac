"""One training step of the graph forecaster (`trajstudy.forecast.GraphGRUForecaster`) with its gates propagated as one
sparse product (the library's way) against GCNConv's own message passing (the way before), and the per-sensor GRU beside.

    .venv/bin/python benchmarks/bench_forecast.py [--nodes 207] [--batch 64] [--hidden 64] [--reps 5]

LOS-loop's sensor graph (its first `--nodes` sensors), 12-step windows (9 in, 3 out), a forward, an L1 backward and an
Adam step per repetition, one torch thread; both graph variants start from the same weights and the script checks that
they compute the same forecasts. It prints milliseconds per step (best of `--reps`, after one warm-up) and the ratios,
measured in one run. Needs LOS-loop (../shared/data or TRAJSTUDY_DATA).
"""
import argparse, time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=207)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args(argv)
    import copy, warnings
    import numpy as np, torch
    from trajstudy.data import load
    from trajstudy import forecast as fc
    torch.set_num_threads(1); warnings.filterwarnings("ignore")
    s = load("los-loop").select_nodes(np.arange(a.nodes))
    ei, ew = fc.edges_from_adjacency(s.adjacency, a.nodes)
    x = torch.randn(a.batch, 9, a.nodes); y = torch.randn(a.batch, 3, a.nodes)

    class MessagePassing(fc.GraphGRUForecaster):
        "The same forecaster, every gate through GCNConv's forward (gather per edge and window, scatter-add)."
        def forward(self, x, edge_index, edge_weight):
            B, t, N = x.shape
            h = x.new_zeros(B, N, self.hidden); c = self.cell
            for k in range(t):
                xk = x[:, k, :, None]
                xz, xr, xn = c.conv_x(xk, edge_index, edge_weight).chunk(3, -1)
                hz, hr = c.conv_hzr(h, edge_index, edge_weight).chunk(2, -1)
                z, r = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr)
                h = (1 - z) * torch.tanh(xn + c.conv_hn(r * h, edge_index, edge_weight)) + z * h
            return self.head(h).transpose(1, 2)

    torch.manual_seed(0)
    sparse = fc.GraphGRUForecaster(3, a.hidden)
    mp = MessagePassing(3, a.hidden); mp.load_state_dict(copy.deepcopy(sparse.state_dict()))
    torch.manual_seed(0)
    gru = fc.GRUForecaster(3, a.hidden)
    with torch.no_grad():
        diff = float((sparse(x, ei, ew) - mp(x, ei, ew)).abs().max())
    assert diff < 1e-4, f"the two graph forecasters disagree by {diff}"

    def step_ms(model, *g):
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        def one():
            opt.zero_grad(); (model(x, *g) - y).abs().mean().backward(); opt.step()
        one()
        best = float("inf")
        for _ in range(a.reps):
            t0 = time.perf_counter(); one(); best = min(best, time.perf_counter() - t0)
        return 1000 * best

    rows = {"graph GRU, sparse product": step_ms(sparse, ei, ew), "graph GRU, GCNConv message passing": step_ms(mp, ei, ew),
            "per-sensor GRU": step_ms(gru)}
    base = rows["graph GRU, sparse product"]
    print(f"forecaster training step, LOS-loop {a.nodes} sensors ({ei.shape[1]} edges), batch {a.batch}, hidden {a.hidden}, "
          f"1 torch thread, best of {a.reps}; forecasts agree to {diff:.1e}")
    print(f"{'forecaster':<38} {'ms/step':>9} {'x sparse':>9}")
    for k, v in rows.items(): print(f"{k:<38} {v:9.1f} {v / base:9.2f}")


if __name__ == "__main__":
    main()
