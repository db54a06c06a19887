"""Time the book's interactive figures and the book build.

1. Live face: for each figure of ``nnlib.widgets``, move every control through its values the way
   a reader does (setting the ipywidgets control runs the figure's callback: update the figure,
   encode the PNG) and report the median time of one update against the 150 ms budget.
2. Static face: the time to precompute all frames of each figure, and their embedded size.
3. The book: a clean build (empty execution cache, in a temporary copy of the working tree) and
   a second, cached build of the same copy.

Usage: ``python benchmarks/bench_widgets.py [--no-build] [--rounds N]``. Exits 1 if a live
update is over budget.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nnlib.widgets import (
    activation_figure,
    autoencoder_figure,
    backprop_figure,
    gradient_descent_figure,
    history_timeline_figure,
    init_explorer_figure,
    logistic_regression_figure,
    loss_contour_figure,
    momentum_valley_figure,
    neuron_figure,
    optimizer_race_figure,
    perceptron_figure,
    presets_figure,
    regularization_figure,
    softmax_figure,
    universal_approximation_figure,
)

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 150.0
FIGURES = {
    "history timeline (ch. 1)": history_timeline_figure,
    "neuron (ch. 2)": neuron_figure,
    "perceptron (ch. 3)": perceptron_figure,
    "gradient descent (ch. 4)": gradient_descent_figure,
    "loss contours (ch. 4)": loss_contour_figure,
    "logistic regression (ch. 5)": logistic_regression_figure,
    "activations (ch. 6)": activation_figure,
    "universal approximation (ch. 6)": universal_approximation_figure,
    "softmax (ch. 7)": softmax_figure,
    "backprop (ch. 8)": backprop_figure,
    "initialisation (ch. 9)": init_explorer_figure,
    "momentum valley (ch. 9)": momentum_valley_figure,
    "optimizer race (ch. 9)": optimizer_race_figure,
    "regularisation (ch. 9)": regularization_figure,
    "playground presets (ch. 10)": presets_figure,
    "autoencoders (ch. 11)": autoencoder_figure,
}


def time_live(build, rounds: int) -> tuple[float, float, int]:
    """Median and 90th percentile of one live update in ms, and the number of updates timed."""
    view = build().live()
    times = []
    for _ in range(rounds):
        for ctl in view.controls.values():
            start_index = ctl.index
            for i in [*range(len(ctl.options)), start_index]:
                if i == ctl.index:
                    continue
                t0 = time.perf_counter()
                ctl.index = i  # fires the observer: render + PNG, exactly the live callback
                times.append(time.perf_counter() - t0)
    times_ms = sorted(1e3 * t for t in times)
    p90 = times_ms[int(0.9 * (len(times_ms) - 1))]
    return statistics.median(times_ms), p90, len(times_ms)


def time_static(build) -> tuple[float, int, int, int]:
    """Seconds to precompute every frame, frames, distinct images, and HTML size in bytes."""
    fig = build()
    t0 = time.perf_counter()
    frames = fig.frames()
    seconds = time.perf_counter() - t0
    return seconds, frames.n_frames, len(frames.images), len(fig.to_html().encode())


def time_book() -> tuple[float, float]:
    """Seconds of a clean and of a cached ``jupyter-book build`` of a copy of the working tree."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)
        for rel in filter(None, files):
            if (ROOT / rel).is_file():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, src / rel)
        cmd = [str(jupyter_book), "build", ".", "-n", "-W", "--keep-going"]
        env = {**os.environ, "PYTHONPATH": str(src)}
        out = []
        for _ in range(2):
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=src, check=True, capture_output=True, env=env)
            out.append(time.perf_counter() - t0)
    return out[0], out[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-build", action="store_true", help="skip the book build timings")
    parser.add_argument("--rounds", type=int, default=3, help="passes over every control")
    args = parser.parse_args()

    over = []
    print(f"live update (one control change), budget {BUDGET_MS:.0f} ms:")
    for name, build in FIGURES.items():
        median, p90, n = time_live(build, args.rounds)
        flag = "ok" if median <= BUDGET_MS else "OVER BUDGET"
        print(f"  {name:<28} median {median:6.1f} ms   p90 {p90:6.1f} ms   ({n} updates)  {flag}")
        if median > BUDGET_MS:
            over.append(name)
    print("static face (all frames precomputed at build time):")
    for name, build in FIGURES.items():
        seconds, n_frames, n_images, size = time_static(build)
        print(
            f"  {name:<28} {n_frames:4d} frames ({n_images} distinct) in {seconds:5.1f} s, "
            f"{size / 1e3:6.0f} kB of HTML"
        )
    if not args.no_build:
        clean, cached = time_book()
        print(f"book build: clean {clean:.1f} s, cached {cached:.1f} s")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
