"""Time of one training step of the TCN: TensorFlow's own layers vs napari-das's fast path.

``das train`` replaces the dilated Conv1D layers' gradients by forward convolutions, runs one-tap
convolutions as matrix products and (``--precision bfloat16``) the dilated convolutions in
bfloat16 (``napari_das.core.nn.fastconv``).  This bench trains the same network from the same
weights on the same fixed batch with each variant, interleaved round by round so machine load
hits all of them alike, and prints the median and minimum step time (wall) and CPU time per step
(user + system of this process, both cores) as a markdown table, with the CPU model.

    python bench/bench_train_step.py [--rounds 3] [--steps 30] [--network bird|bird-nostft|seed]

Networks: ``bird`` is DAS's bird command line (``--nb-hist 1024 --nb-filters 32 --kernel-size 32
--nb-conv 3 --nb-pre-conv 4``, 64 frames per chunk); ``seed`` is the seed's fly network without
the frontend (``--nb-hist 256``, kernel 32, 3 stacks); ``bird-nostft`` is the bird command line
without the frontend (1024 samples per chunk).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from machine import cpu_model  # bench/machine.py (scripts run from bench/)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NETWORKS = {
    "bird": dict(nb_hist=1024, nb_filters=32, kernel_size=32, nb_conv=3, nb_pre_conv=4),
    "bird-nostft": dict(nb_hist=1024, nb_filters=32, kernel_size=32, nb_conv=3),
    "seed": dict(nb_hist=256, nb_filters=32, kernel_size=32, nb_conv=3),
}
VARIANTS = ("tensorflow layers", "fast float32", "fast bfloat16")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant and round")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--network", choices=sorted(NETWORKS), default="bird")
    args = parser.parse_args()

    import numpy as np

    from napari_das.core.config import NetworkConfig
    from napari_das.core.nn.fastconv import use_fast_convolutions
    from napari_das.core.nn.model import build_model
    from napari_das.core.training.seeding import import_tensorflow

    tf, keras = import_tensorflow(1)  # deterministic ops, as das train runs them
    network = NetworkConfig(**NETWORKS[args.network]).validated()
    classes = 12
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch_size, network.nb_hist, 1)).astype("float32")
    out_steps = network.nb_hist // network.output_stride
    y = keras.utils.to_categorical(rng.integers(0, classes, size=(args.batch_size, out_steps)),
                                   classes)
    models = {}
    for name in VARIANTS:
        keras.utils.set_random_seed(1)
        model = build_model(network, 1, classes)
        if name != "tensorflow layers":
            low = "bfloat16" if "bfloat16" in name else None
            counts = use_fast_convolutions(model, low, batch=args.batch_size,
                                           frames=network.nb_hist // network.hop)
            if low and not counts["low"]:
                print(f"{name}: no layer passed the bfloat16 check on this CPU (float32 used)")
        for _ in range(3):  # trace and warm up
            model.train_on_batch(x, y)
        models[name] = model
    wall: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, model in models.items():
            c0 = time.process_time()
            for _ in range(args.steps):
                t0 = time.perf_counter()
                model.train_on_batch(x, y)
                wall[name].append(time.perf_counter() - t0)
            cpu[name].append((time.process_time() - c0) / args.steps)
    base = statistics.median(wall["tensorflow layers"])
    print(f"\n{args.network} network, batch {args.batch_size}, {args.rounds} rounds x "
          f"{args.steps} steps; CPU: {cpu_model()}, {os.cpu_count()} logical CPUs\n")
    print("| variant | step median (ms) | step min (ms) | CPU per step (ms) | vs TensorFlow |")
    print("|---|---|---|---|---|")
    for name in VARIANTS:
        med = statistics.median(wall[name])
        print(f"| {name} | {med * 1e3:.1f} | {min(wall[name]) * 1e3:.1f} | "
              f"{statistics.median(cpu[name]) * 1e3:.1f} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
