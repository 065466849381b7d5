"""Training throughput of the seed's network (and a faster STFT variant) on fixed synthetic data.

Usage: ``python bench/bench_training.py [--steps 20] [--batch-size 32]``; prints a markdown table.
Numbers are for the machine it runs on (TensorFlow CPU threads as configured by default).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = {
    "seed: tcn 256/32 filters/k32/3 stacks": dict(nb_hist=256, nb_filters=32, kernel_size=32,
                                                  nb_conv=3, use_separable=[False] * 3),
    "STFT frontend (hop 16), same TCN": dict(nb_hist=256, nb_filters=32, kernel_size=32,
                                             nb_conv=3, nb_pre_conv=4, pre_nb_dft=64),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20, help="timed batches per variant")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import keras

    from napari_das.core.config import DatasetConfig, NetworkConfig
    from napari_das.core.data.chunks import ChunkBatches, default_steps_per_epoch
    from napari_das.core.data.dataset import load_dataset, make_dataset
    from napari_das.core.data.synth import write_fly_song_folder
    from napari_das.core.nn.model import build_model
    from napari_das.core.training.data import tf_dataset
    from napari_das.core.training.seeding import import_tensorflow

    tf, _ = import_tensorflow(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_fly_song_folder(Path(tmp) / "song", nfiles=4, duration=30.0, seed=0)
        make_dataset(DatasetConfig(data_folder=str(Path(tmp) / "song"),
                                   store_folder=str(Path(tmp) / "song.npy"), seed=0))
        data = load_dataset(Path(tmp) / "song.npy")
        split = data.splits["train"]
        fs = data.samplerate
        for name, options in VARIANTS.items():
            net = NetworkConfig(**options).validated()
            batches = ChunkBatches(split.x, split.y, split.boundaries, net.nb_hist, net.stride,
                                   net.data_padding, args.batch_size, shuffle=True, seed=0)
            model = build_model(net, data.nb_channels, data.nb_classes)
            ds = tf_dataset(tf, batches, infinite=True)
            times = []

            class Clock(keras.callbacks.Callback):
                def on_train_batch_end(self, batch, logs=None):
                    times.append(time.perf_counter())  # noqa: B023 - used in this loop

            t0 = time.perf_counter()
            model.fit(ds, epochs=1, steps_per_epoch=args.steps + 2, callbacks=[Clock()], shuffle=False,
                      verbose=0)
            first = times[0] - t0
            per_step = (times[-1] - times[1]) / (len(times) - 2)  # skip the traced first steps
            chunks_s = args.batch_size / per_step
            kept = net.stride / net.nb_hist  # samples per chunk that count for the loss
            steps = default_steps_per_epoch(batches)
            rows.append((name, model.count_params(), f"{first:.1f}", f"{per_step * 1000:.0f}",
                         f"{chunks_s:.0f}", f"{chunks_s * net.nb_hist / fs:.1f}",
                         f"{chunks_s * net.nb_hist * kept / fs:.1f}", steps,
                         f"{steps * per_step:.0f}", f"{1000 * per_step:.0f}"))
    header = ("variant", "params", "first step s", "ms/step", "chunks/s", "audio s/s",
              "loss-weighted audio s/s", "steps/epoch (one pass)", "epoch s (one pass)",
              "epoch s (1000 steps)")
    print(f"batch size {args.batch_size}, {args.steps} timed steps, "
          f"{split.x.shape[0] / fs:.0f} s of training audio at {fs:.0f} Hz\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
