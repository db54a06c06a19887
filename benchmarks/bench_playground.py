"""How fast the playground of chapter 10 trains and redraws, against baselines from the same run.

The issue asks that the playground train at >= 20 epochs per second on spirals with a 2-8-8-1
network and 500 points (the default configuration: 250 training points, batch 10, tanh, SGD)
in a kernel, and that every live update (one control change) take <= 150 ms (median). This
script measures, in one process and interleaving the contenders round by round:

1. training alone: ``Playground.step`` (nnlib's ``fit`` one epoch at a time, plus the train
   and test losses after each epoch), in epochs per second;
2. the play loop: ``PlaygroundApp.tick`` (train ``k`` epochs, then snapshot, draw and encode
   the PNG), for ``k = 1`` and the app's default ``k``, in epochs per second; and the rate the
   play button allows, ``k / max(interval, tick time)``;
3. the baseline: the same network, data, batches and SGD fused by hand in bare numpy (the
   floor: no validation, no modules, no bookkeeping), in epochs per second;
4. live updates: every control of the app moved through its values, median ms.

It prints each rate, its ratio to the bare-numpy baseline and to the 20 epochs/s budget, and
exits 1 if the play loop is under budget or the median live update is over 150 ms.

Usage: python benchmarks/bench_playground.py [--rounds 5] [--epochs 40]
"""

from __future__ import annotations

import os

# One BLAS thread, as in the other benchmarks; must be set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import statistics
import sys
import time

import numpy as np

from nnlib.widgets.playground import DEFAULT_CONFIG, Playground, PlaygroundApp

BUDGET_EPOCHS_PER_S = 20.0
BUDGET_MS = 150.0


def check_default() -> None:
    cfg = DEFAULT_CONFIG
    assert (cfg.data, cfg.points, cfg.sizes, cfg.act) == ("spirals", 500, [2, 8, 8, 1], "tanh")


# --- contenders -----------------------------------------------------------------------------------
def rate_training(epochs: int) -> float:
    """Epochs per second of ``Playground.step`` (training and the per-epoch losses)."""
    pg = Playground(DEFAULT_CONFIG)
    t0 = time.perf_counter()
    pg.step(epochs)
    return epochs / (time.perf_counter() - t0)


def rate_loop(app: PlaygroundApp, k: int, frames: int) -> tuple[float, float]:
    """Epochs per second of the play loop with ``k`` epochs per frame, and the median frame time."""
    app.reset()
    app.speed.value = k
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        app.tick()
        times.append(time.perf_counter() - t0)
    return k * frames / sum(times), statistics.median(times)


def rate_numpy(epochs: int) -> float:
    """Epochs per second of the same training fused by hand in numpy (the floor)."""
    pg = Playground(DEFAULT_CONFIG)  # the same data, features and initial weights
    X, y = pg.X_train, pg.labels_train[:, None].astype(float)
    W1, b1, W2, b2, W3, b3 = (p.value.copy() for p in pg.net.parameters())
    lr, batch, n = DEFAULT_CONFIG.lr, DEFAULT_CONFIG.batch, len(X)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            xb, yb = X[idx], y[idx]
            h1 = np.tanh(xb @ W1 + b1)
            h2 = np.tanh(h1 @ W2 + b2)
            z = h2 @ W3 + b3
            dz = (1 / (1 + np.exp(-z)) - yb) / len(idx)  # BCE with logits
            dh2 = (dz @ W3.T) * (1 - h2 * h2)
            dh1 = (dh2 @ W2.T) * (1 - h1 * h1)
            W3 -= lr * (h2.T @ dz)
            b3 -= lr * dz.sum(0)
            W2 -= lr * (h1.T @ dh2)
            b2 -= lr * dh2.sum(0)
            W1 -= lr * (xb.T @ dh1)
            b1 -= lr * dh1.sum(0)
    return epochs / (time.perf_counter() - t0)


def live_updates(app: PlaygroundApp) -> list[float]:
    """Time every control change of the app (each restarts the run and redraws), in ms."""
    times = []

    def timed(setter) -> None:
        t0 = time.perf_counter()
        setter()
        times.append(1e3 * (time.perf_counter() - t0))

    for ctl in app.controls.values():
        if hasattr(ctl, "options"):  # menus and selection sliders: every index, then back
            start = ctl.index
            for i in [*range(len(ctl.options)), start]:
                if i != ctl.index:
                    timed(lambda c=ctl, i=i: setattr(c, "index", i))
        elif hasattr(ctl, "min") and ctl.max - ctl.min <= 10:  # int sliders
            start = ctl.value
            for v in [*range(ctl.min, ctl.max + 1), start]:
                if v != ctl.value:
                    timed(lambda c=ctl, v=v: setattr(c, "value", v))
        else:  # the seed box
            for v in (1, 2, 0):
                timed(lambda c=ctl, v=v: setattr(c, "value", v))
    for box in app.feature_boxes.values():
        for _ in range(2):
            timed(lambda b=box: setattr(b, "value", not b.value))
    app.set_config(DEFAULT_CONFIG)
    for slider in app.units[:2]:
        for v in (2, 8):
            timed(lambda s=slider, v=v: setattr(s, "value", v))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians)")
    parser.add_argument("--epochs", type=int, default=40, help="epochs per training measurement")
    args = parser.parse_args()
    check_default()
    app = PlaygroundApp(DEFAULT_CONFIG)
    default_k = app.speed.value
    interval = app.play.interval / 1000
    rates: dict[str, list[float]] = {}
    frame_time: dict[int, list[float]] = {1: [], default_k: []}
    for _ in range(args.rounds):
        rates.setdefault("bare numpy, fused by hand", []).append(rate_numpy(args.epochs))
        rates.setdefault("nnlib Playground.step (training)", []).append(rate_training(args.epochs))
        for k in (1, default_k):
            rate, frame = rate_loop(app, k, max(5, args.epochs // k))
            rates.setdefault(f"play loop, redraw every {k} epoch(s)", []).append(rate)
            frame_time[k].append(frame)
    medians = {name: statistics.median(v) for name, v in rates.items()}
    base = medians["bare numpy, fused by hand"]
    cfg = DEFAULT_CONFIG
    print(
        f"{cfg.data}, {cfg.points} points ({round(cfg.points * cfg.split)} for training), net "
        f"{'-'.join(map(str, cfg.sizes))}, batch {cfg.batch}; medians of {args.rounds} "
        "interleaved rounds"
    )
    k_frame = statistics.median(frame_time[default_k])
    played = default_k / max(interval, k_frame)
    medians[f"play button ({1e3 * interval:.0f} ms interval, k={default_k})"] = played
    print(f"{'':42} {'epochs/s':>9} {'vs numpy':>9} {'vs budget 20/s':>15}")
    for name, value in medians.items():
        print(f"{name:42} {value:9.1f} {value / base:9.3f} {value / BUDGET_EPOCHS_PER_S:15.2f}")
    for k, times in frame_time.items():
        median_ms = 1e3 * statistics.median(times)
        print(f"one frame of the play loop with k={k}: median {median_ms:.0f} ms")
    updates = live_updates(app)
    median_update = statistics.median(updates)
    p90 = sorted(updates)[int(0.9 * (len(updates) - 1))]
    print(
        f"live update (one control change): median {median_update:.1f} ms, p90 {p90:.1f} ms "
        f"over {len(updates)} changes; budget {BUDGET_MS:.0f} ms "
        f"(ratio {median_update / BUDGET_MS:.2f})"
    )
    slow_loop = medians[f"play loop, redraw every {default_k} epoch(s)"] < BUDGET_EPOCHS_PER_S
    ok = not slow_loop and played >= BUDGET_EPOCHS_PER_S and median_update <= BUDGET_MS
    print("ok" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
