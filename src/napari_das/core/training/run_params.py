"""The ``_params.yaml`` of a training run as written before training: dataset attributes, both
configs, derived values, seed, data geometry and the training audio's noise level.
"""

from __future__ import annotations

import json
from typing import Any

from ... import __version__
from ..config import NetworkConfig, TrainingConfig
from ..data.levels import pieces_noise_level
from ..errors import DasError
from ..post.defaults import song_durations
from .data import PreparedData
from .hashing import data_hash

#: Dataset attributes never copied into the params (large, and DAS dropped them too).
SKIPPED_ATTRS = ("data_splits", "recording_pieces", "file_split_dict")
#: Longest JSON text of a dataset attribute copied into the params.
MAX_ATTR_CHARS = 20_000
#: Keys added to the params during and after training (besides :func:`initial_params`).
RUN_RECORD_KEYS = ("history", "best_epoch", "epochs_completed", "stopped", "early_stopped",
                   "training_seconds", "conf_mat", "report", "test_metrics", "post_opt",
                   "data_hash", "precision_used")


def initial_params(network: NetworkConfig, training: TrainingConfig, data: PreparedData,
                   seed: int, stem: str) -> dict[str, Any]:
    """The params written before training (DAS keys, plain types)."""
    ds = data.dataset
    params: dict[str, Any] = {}
    for key, value in ds.attrs.items():
        if key in SKIPPED_ATTRS:
            continue
        try:
            if len(json.dumps(value, default=str)) > MAX_ATTR_CHARS:
                continue
        except (TypeError, ValueError):
            continue
        params[key] = value
    params.update(training.to_dict())
    params.update(network.to_dict())
    params.update(network.derived())
    params.update(
        save_prefix=training.prefix, save_name=stem, learning_rate=training.effective_learning_rate,
        seed=int(seed), class_names=list(ds.class_names), class_types=list(ds.class_types),
        samplerate_x_Hz=float(ds.samplerate),
        samplerate_y_Hz=float(ds.attrs.get("samplerate_y_Hz", ds.samplerate)),
        nb_freq=data.nb_channels, nb_channels=data.nb_channels, nb_classes=data.nb_classes,
        class_weights=None if data.class_weights is None else data.class_weights.tolist(),
        steps_per_epoch=data.steps_per_epoch,
        nb_train_chunks=data.train.nb_chunks, nb_val_chunks=data.val.nb_chunks,
        noise_level=pieces_noise_level(data.train.x, data.train.boundaries),
        napari_das_version=__version__,
        # what predict derives min length / fill gap from when no post_opt is chosen
        song_durations=song_durations(data.train.y, ds.class_names, ds.class_types,
                                      float(ds.attrs.get("samplerate_y_Hz", ds.samplerate)),
                                      data.train.boundaries),
    )
    for name in ("train", "val"):
        first, last = data.subsets.get(name, (0, None))
        params[f"first_sample_{name}"], params[f"last_sample_{name}"] = first, last
    if training.version_data:
        params["data_hash"] = data_hash(training.data_dir)
    return params


def check_resumed_keys(saved: dict[str, Any], params: dict[str, Any], path: str) -> None:
    """DasError naming the first key of a resumed run's params that this version does not write.

    ``params`` are the :func:`initial_params` of the resumed run; a key in the saved params that
    is neither there nor a record of the run (:data:`RUN_RECORD_KEYS`) would otherwise be
    silently ignored (e.g. an option misspelt in an edited params file).
    """
    unknown = sorted(set(saved) - set(params) - set(RUN_RECORD_KEYS) - set(SKIPPED_ATTRS))
    if unknown:
        raise DasError(f"cannot resume: unknown key {unknown[0]!r} in the params file"
                       + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                       + "; remove it or start a new run", path)
