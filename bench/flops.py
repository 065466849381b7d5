"""Matrix-multiply FLOP/s of this machine, measured with numpy and with TensorFlow.

The yardstick for prediction speed: a TCN forward pass is a chain of matrix products (a dilated
Conv1D with kernel k and F filters is ``[T, k*F] @ [k*F, F]``), so the measured matmul rate is the
ceiling that prediction can approach.  Two shapes are measured:

``square``
    ``[n, n] @ [n, n]`` float32 (n = 2048): the best case, what BLAS/Eigen reach.
``conv``
    ``[T, k*F] @ [k*F, F]`` float32 with the benchmark network's k = F = 32 (T = 32768): the shape
    of one dilated convolution of the seed network, thin in its output dimension.

Usage::

    .venv/bin/python bench/flops.py [--json] [--seconds 2]

Prints one JSON object (``--json``) or a short table.  TensorFlow is imported only here, never
by the harness (compare_das.py runs this file as a child process).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable


def _best_rate(run: Callable[[], object], flops: float, seconds: float) -> float:
    """Best FLOP/s of repeated calls of ``run`` (after one warm-up) within ``seconds``."""
    run()
    best = 0.0
    t_end = time.perf_counter() + seconds
    n = 0
    while n < 3 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        run()
        dt = time.perf_counter() - t0
        best = max(best, flops / dt)
        n += 1
    return best


def numpy_rates(seconds: float = 2.0, n: int = 2048, rows: int = 32768, k: int = 32,
                filters: int = 32) -> dict[str, float]:
    """Matmul FLOP/s with numpy (its BLAS) for the square and the conv-shaped product."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    x = rng.standard_normal((rows, k * filters), dtype=np.float32)
    w = rng.standard_normal((k * filters, filters), dtype=np.float32)
    return {
        "square": _best_rate(lambda: a @ b, 2.0 * n**3, seconds),
        "conv": _best_rate(lambda: x @ w, 2.0 * rows * k * filters * filters, seconds),
    }


def tensorflow_rates(seconds: float = 2.0, n: int = 2048, rows: int = 32768, k: int = 32,
                     filters: int = 32) -> dict[str, float]:
    """Matmul FLOP/s with TensorFlow (Eigen/oneDNN), plus the dilated Conv1D of the network."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    g = tf.random.Generator.from_seed(0)
    a, b = g.normal((n, n)), g.normal((n, n))
    x, w = g.normal((rows, k * filters)), g.normal((k * filters, filters))
    signal = g.normal((1, rows, filters))
    kernel = g.normal((k, filters, filters))

    matmul = tf.function(lambda p, q: tf.linalg.matmul(p, q))
    conv = tf.function(lambda s, f: tf.nn.conv1d(s, f, stride=1, padding="SAME", dilations=4))
    return {
        "square": _best_rate(lambda: matmul(a, b).numpy(), 2.0 * n**3, seconds),
        "conv": _best_rate(lambda: matmul(x, w).numpy(), 2.0 * rows * k * filters * filters,
                           seconds),
        "conv1d_dilated": _best_rate(lambda: conv(signal, kernel).numpy(),
                                     2.0 * rows * k * filters * filters, seconds),
    }


def measure(seconds: float = 2.0) -> dict[str, object]:
    """All rates in FLOP/s, and ``peak`` = the best rate measured (any library, any shape)."""
    rates = {"numpy": numpy_rates(seconds), "tensorflow": tensorflow_rates(seconds)}
    rates["peak"] = max(v for lib in ("numpy", "tensorflow") for v in rates[lib].values())
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args(argv)
    rates = measure(args.seconds)
    if args.json:
        print(json.dumps(rates))
        return 0
    for lib in ("numpy", "tensorflow"):
        for shape, value in rates[lib].items():
            print(f"{lib:<11} {shape:<15} {value / 1e9:8.1f} GFLOP/s")
    print(f"peak (best of all): {rates['peak'] / 1e9:.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
