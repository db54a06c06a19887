"""One training step of an nnlib MLP against the same math fused by hand in numpy (and PyTorch).

A step is forward, loss, backward and an SGD update. All three contenders start from the same
weights and see the same batch, in float64 on one thread. The hand-fused numpy step is the
floor: the same matrix products plus the elementwise passes no implementation can avoid.

These machines are noisy, so the script prints ratios measured in the same run, interleaving
the contenders round by round and taking medians, rather than absolute times.

Usage: python benchmarks/bench_train_step.py [--rounds 15] [--steps 200]
"""

from __future__ import annotations

import os

# Single thread for every contender; must be set before numpy (and torch) load BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import nnlib
from nnlib.functional import log_softmax, sigmoid

try:
    import torch
except ImportError:  # the comparison with PyTorch is optional
    torch = None

LR = 0.05


@dataclass
class Case:
    name: str
    sizes: list[int]
    activation: str
    loss: str  # "bce_logits" or "cross_entropy"
    batch: int


CASES = [
    Case("2-16-16-1 tanh, BCE-with-logits, batch 64", [2, 16, 16, 1], "tanh", "bce_logits", 64),
    Case("784-256-10 ReLU, cross-entropy, batch 256", [784, 256, 10], "relu", "cross_entropy", 256),
]


def make_batch(case: Case, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.standard_normal((case.batch, case.sizes[0]))
    if case.loss == "bce_logits":
        y = (rng.random((case.batch, 1)) < 0.5).astype(np.float64)
    else:
        y = rng.integers(0, case.sizes[-1], size=case.batch)
    return X, y


# --- contender 1: nnlib ------------------------------------------------------------------------
def nnlib_step(case: Case, X: np.ndarray, y: np.ndarray, seed: int) -> tuple[Callable, object]:
    net = nnlib.MLP(case.sizes, activation=case.activation, seed=seed)
    loss = nnlib.BCEWithLogitsLoss() if case.loss == "bce_logits" else nnlib.CrossEntropyLoss()
    opt = nnlib.SGD(net.parameters(), lr=LR)

    def step() -> float:
        opt.zero_grad()
        value = loss(net(X), y)
        net.backward(loss.backward(), need_input_grad=False)
        opt.step()
        return value

    return step, net


# --- contender 2: the same math fused by hand ------------------------------------------------
def fused_step(case: Case, X: np.ndarray, y: np.ndarray, weights: list) -> Callable:
    params = [w.copy() for w in weights]  # [W1, b1, W2, b2, ...]
    n_layers = len(params) // 2
    act = np.tanh if case.activation == "tanh" else (lambda z: np.maximum(z, 0.0))
    N = X.shape[0]
    if case.loss == "cross_entropy":
        Y = np.zeros((N, case.sizes[-1]))
        Y[np.arange(N), y] = 1.0

    def step() -> float:
        acts = [X]
        pre = []
        for i in range(n_layers):
            Z = acts[-1] @ params[2 * i]
            Z += params[2 * i + 1]
            pre.append(Z)
            acts.append(act(Z) if i < n_layers - 1 else Z)
        Z = acts[-1]
        if case.loss == "bce_logits":
            value = float(np.mean(np.maximum(Z, 0) - Z * y + np.log1p(np.exp(-np.abs(Z)))))
            dZ = (sigmoid(Z) - y) / N
        else:
            logp = log_softmax(Z)
            value = float(-np.mean(logp[np.arange(N), y]))
            dZ = (np.exp(logp) - Y) / N
        for i in reversed(range(n_layers)):
            dW = acts[i].T @ dZ
            db = dZ.sum(axis=0)
            if i > 0:
                dA = dZ @ params[2 * i].T
                if case.activation == "tanh":
                    dZ = dA * (1.0 - acts[i] ** 2)
                else:
                    dZ = dA * (pre[i - 1] > 0)
            params[2 * i] -= LR * dW
            params[2 * i + 1] -= LR * db
        return value

    step.params = params
    return step


# --- contender 3: PyTorch, single thread, float64 ---------------------------------------------
def torch_step(case: Case, X: np.ndarray, y: np.ndarray, weights: list) -> Callable:
    torch.set_num_threads(1)
    layers: list = []
    for i in range(len(case.sizes) - 1):
        lin = torch.nn.Linear(case.sizes[i], case.sizes[i + 1], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(weights[2 * i].T.copy()))
            lin.bias.copy_(torch.from_numpy(weights[2 * i + 1].copy()))
        layers.append(lin)
        if i < len(case.sizes) - 2:
            layers.append(torch.nn.Tanh() if case.activation == "tanh" else torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    loss_fn = (
        torch.nn.BCEWithLogitsLoss() if case.loss == "bce_logits" else torch.nn.CrossEntropyLoss()
    )
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> float:
        opt.zero_grad(set_to_none=False)
        value = loss_fn(net(Xt), yt)
        value.backward()
        opt.step()
        return float(value)

    return step


def time_steps(step: Callable, n: int) -> float:
    """Seconds per step over ``n`` consecutive steps."""
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def run_case(case: Case, rounds: int, steps: int) -> None:
    rng = np.random.default_rng(0)
    X, y = make_batch(case, rng)
    contenders: dict[str, Callable] = {}
    contenders["nnlib"], net = nnlib_step(case, X, y, seed=1)
    initial = [p.value.copy() for p in net.parameters()]
    contenders["fused numpy"] = fused_step(case, X, y, initial)
    if torch is not None:
        contenders["PyTorch"] = torch_step(case, X, y, initial)

    # The contenders must compute the same thing: one step from the same weights, same loss.
    losses = {name: step() for name, step in contenders.items()}
    reference = losses["fused numpy"]
    for name, value in losses.items():
        if not np.isclose(value, reference, rtol=1e-9):
            raise SystemExit(f"{name} computed loss {value!r}, fused numpy {reference!r}")
    after_one_step = [p.value for p in net.parameters()]
    for mine, fused in zip(after_one_step, contenders["fused numpy"].params, strict=True):
        if not np.allclose(mine, fused, rtol=1e-9, atol=1e-12):
            raise SystemExit("nnlib and fused numpy disagree after one step")

    per_step: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):  # interleaved, so drift hits every contender alike
        for name, step in contenders.items():
            per_step[name].append(time_steps(step, steps))
    median = {name: statistics.median(times) for name, times in per_step.items()}

    print(f"\n{case.name}")
    for name, t in median.items():
        print(f"  {name:<12} {t * 1e6:9.1f} us/step")
    print(f"  ratio nnlib / fused numpy = {median['nnlib'] / median['fused numpy']:.2f}")
    if "PyTorch" in median:
        print(f"  ratio nnlib / PyTorch     = {median['nnlib'] / median['PyTorch']:.2f}")
    else:
        print("  PyTorch not installed: `make bench` installs it where it can")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=0, help="steps per round (0: auto)")
    args = parser.parse_args()
    print("one training step (forward, loss, backward, SGD update), float64, one thread")
    for case in CASES:
        steps = args.steps or (300 if case.sizes[0] < 100 else 20)
        run_case(case, args.rounds, steps)


if __name__ == "__main__":
    main()
