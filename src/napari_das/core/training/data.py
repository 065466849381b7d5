"""The training data of a run: the dataset's chunk batches (subsets, class weights) and the
prefetching ``tf.data`` pipelines over them.  TensorFlow is passed in, never imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import NetworkConfig, TrainingConfig
from ..data.augment import load_augmentations
from ..data.chunks import (
    ChunkBatches,
    class_weights_from_targets,
    clip_boundaries,
    default_steps_per_epoch,
    subset_boundaries,
)
from ..errors import DasError
from .inputs import open_dataset


@dataclass
class PreparedData:
    """The dataset with its chunk batches for one run."""

    dataset: Any
    train: ChunkBatches
    val: ChunkBatches
    steps_per_epoch: int
    class_weights: np.ndarray | None
    subsets: dict[str, tuple[int, int]]

    @property
    def nb_channels(self) -> int:
        return int(self.dataset.splits["train"].x.shape[1])

    @property
    def nb_classes(self) -> int:
        return len(self.dataset.class_names)


def _fraction(training: TrainingConfig, samplerate: float, nb_samples: int) -> float | None:
    f = training.fraction_data
    if f is None:
        return None
    if f > 1:  # seconds
        return min(1.0, f * samplerate / max(nb_samples, 1))
    return float(f)


def prepare_data(network: NetworkConfig, training: TrainingConfig, seed: int,
                 data_padding: int | None = None) -> PreparedData:
    """Open the dataset and build the training/validation batches (subsets, class weights).

    ``data_padding`` replaces the network's chunk margin (a model fine-tuned from DAS keeps
    DAS's); ``training.augmentations`` (DAS's spec) augments the training batches.
    """
    dataset = open_dataset(training)
    subsets: dict[str, tuple[int, int]] = {}
    pieces = {}
    for offset, name in enumerate(("train", "val")):
        split = dataset.splits[name]
        bounds = list(split.boundaries)
        fraction = _fraction(training, dataset.samplerate, len(split.x))
        first = getattr(training, f"first_sample_{name}")
        last = getattr(training, f"last_sample_{name}")
        if first is not None or last is not None:  # explicit range (DAS: all four needed)
            first, last = int(first or 0), int(len(split.x) if last is None else last)
            if last > len(split.x):
                raise DasError(f"--last-sample-{name} {last} is beyond the {name} split "
                               f"({len(split.x)} samples)", training.data_dir)
            bounds, subsets[name] = clip_boundaries(bounds, first, last), (first, last)
        elif fraction is not None and fraction < 1:
            rng = np.random.default_rng([seed, 1000 + offset])
            min_len = network.nb_hist * (training.batch_size + 2)
            bounds, subsets[name] = subset_boundaries(bounds, fraction, min_len, rng)
        if not any(b - a >= network.nb_hist for a, b in bounds):
            raise DasError(f"the {name} split has no recording piece of at least --nb-hist "
                           f"{network.nb_hist} samples: use a shorter --nb-hist or more data",
                           training.data_dir)
        pieces[name] = bounds
    train_split, val_split = dataset.splits["train"], dataset.splits["val"]
    weights = (class_weights_from_targets(train_split.y, pieces["train"])
               if training.balance else None)
    pad = network.data_padding if data_padding is None else int(data_padding)
    geometry = dict(nb_hist=network.nb_hist, stride=network.nb_hist - 2 * pad,
                    data_padding=pad, batch_size=training.batch_size,
                    class_weights=weights, output_stride=network.output_stride)
    train = ChunkBatches(train_split.x, train_split.y, pieces["train"], shuffle=True, seed=seed,
                         augment=load_augmentations(training.augmentations), **geometry)
    val = ChunkBatches(val_split.x, val_split.y, pieces["val"], **geometry)
    steps = training.steps_per_epoch or default_steps_per_epoch(train, stride=network.das_stride)
    return PreparedData(dataset, train, val, int(steps), weights, subsets)


def tf_dataset(tf: Any, batches: ChunkBatches, start: int = 0, infinite: bool = False,
               take: int | None = None) -> Any:
    """A prefetching tf.data pipeline over ``batches`` (batch i = ``batches.batch(i)``)."""
    nb_channels = int(batches.x.shape[1])
    nb_classes = int(batches.y.shape[1])
    steps_out = int(math.ceil(batches.nb_hist / batches.output_stride))
    if infinite:
        index = tf.data.Dataset.counter(start=start)
    else:
        index = tf.data.Dataset.range(len(batches) if take is None else min(take, len(batches)))

    def fetch(i):
        return batches.batch(int(i))

    def load(i):
        x, y, w = tf.numpy_function(fetch, [i], (tf.float32, tf.float32, tf.float32),
                                    stateful=False)
        x.set_shape((None, batches.nb_hist, nb_channels))
        y.set_shape((None, steps_out, nb_classes))
        w.set_shape((None, steps_out))
        return x, y, w

    ds = index.map(load, num_parallel_calls=2, deterministic=True).prefetch(2)
    options = tf.data.Options()
    # no autotuning (the map and prefetch sizes are fixed): its optimisation thread sleeps for
    # a period that grows towards 60 s, and dropping the iterator at the end of fit waited for
    # it: 16-36 s of a 90-s bird run, in some runs and not others
    options.autotune.enabled = False
    # Under a strategy each batch is the global batch (--batch-size): it is split across the
    # replicas.  Multi-worker: the pipeline reads no files (a counter and numpy_function), so
    # FILE sharding cannot work (AUTO tries it, warns and falls back); DATA makes every worker
    # build the whole global batch i from the shared seed and keep its own slice of it, so the
    # workers together train on exactly the batches of single-device training (each worker
    # draws and augments the global batch: cheap next to the training step).  OFF would give
    # every replica the whole batch (duplicates, a global batch of workers x --batch-size).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
