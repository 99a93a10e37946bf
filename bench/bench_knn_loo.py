"""Leave-one-out k-NN: matsight's one-pass search against scikit-learn's n refits.

Anchor: ``cross_val_predict(KNeighborsClassifier(k), X, y, cv=LeaveOneOut())``
on the same standardised Magpie features of the bundled ``topological``
dataset (topological vs trivial), in the same process. Prints both times,
the ratio, and how many predictions agree (disagreements can only be samples
whose scikit-learn vote depends on a distance tie; they are counted too).
Then times the whole dataset (plain and group LOO, k = 1..15 in one pass).

Usage: ``python bench/bench_knn_loo.py [--n 3000] [--k 5] [--seed 0]``
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MPLBACKEND", "Agg")


def main() -> None:
    import numpy as np
    from sklearn.model_selection import LeaveOneOut, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    from matsight import datasets
    from matsight.learn._classify import classify, composition_features
    from matsight.learn._neighbors import loo_kneighbors, loo_predict, tie_ambiguous

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-full", action="store_true")
    args = ap.parse_args()

    df = datasets.load("topological")
    rng = np.random.default_rng(args.seed)
    sub = df.iloc[np.sort(rng.choice(len(df), args.n, replace=False))]
    X, _ = composition_features(sub["formula"].tolist(), "magpie")
    X = StandardScaler().fit_transform(X)
    y = (sub["label"] != "trivial").to_numpy().astype(int)
    print(f"data: {args.n} rows of 'topological' ({sub['formula'].nunique()} distinct formulas), "
          f"{X.shape[1]} standardised Magpie features, k = {args.k}, threads: OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, cpus={os.cpu_count()}")

    from threadpoolctl import threadpool_limits

    def timed(f, threads):
        with threadpool_limits(threads):
            best, out = float("inf"), None
            for _ in range(1 if f is sk else 3):
                t = time.perf_counter()
                out = f()
                best = min(best, time.perf_counter() - t)
        return best, out

    def sk():
        return cross_val_predict(KNeighborsClassifier(args.k), X, y, cv=LeaveOneOut())

    def mine():
        return loo_predict(X, y, args.k)

    t_ours, ours = timed(mine, None)
    t_ours1, _ = timed(mine, 1)
    t_ref, ref = timed(sk, None)
    t_ref1, ref1 = timed(sk, 1)
    diff = np.flatnonzero(ours != ref)
    n_tie = 0
    for i in diff:
        d = ((X - X[i]) ** 2).sum(axis=1)
        keep = np.arange(len(d)) != i
        n_tie += bool(tie_ambiguous(d[keep], y[keep], args.k, 2))
    print(f"scikit-learn cross_val_predict(LeaveOneOut), default threads: {t_ref:9.3f} s")
    print(f"scikit-learn cross_val_predict(LeaveOneOut), 1 thread       : {t_ref1:9.3f} s")
    print(f"matsight loo_predict (one pass), default threads           : {t_ours:9.3f} s (best of 3)")
    print(f"matsight loo_predict (one pass), 1 thread                  : {t_ours1:9.3f} s (best of 3)")
    print(f"speed-up, both default threads: {t_ref / t_ours:.0f}x")
    print(f"speed-up, both 1 thread       : {t_ref1 / t_ours1:.0f}x")
    print(f"predictions differing from scikit-learn: {len(diff)} of {args.n} "
          f"({n_tie} of them tie-ambiguous in scikit-learn, i.e. not well defined); "
          f"scikit-learn 1 thread vs default threads differ in {(ref != ref1).sum()}")

    if args.skip_full:
        return
    Xf, _ = composition_features(df["formula"].tolist(), "magpie")
    for groups, name in ((None, "loo"), (df["formula"].to_numpy(), "group-loo")):
        t = time.perf_counter()
        loo_kneighbors(Xf, 15, groups=groups, standardize="fold")
        print(f"whole dataset ({len(df)} rows), {name}, k_max = 15, fold standardisation: "
              f"{time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    r = classify("topological")
    print(f"classify('topological') end to end (group-loo + loo comparison, k = 1..15): "
          f"{time.perf_counter() - t:.2f} s; accuracy {r.accuracy:.4f}")


if __name__ == "__main__":
    main()
