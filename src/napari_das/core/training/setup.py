"""Pieces of :func:`napari_das.core.training.train.train`: input checks, data, TensorFlow, results.

Split out of ``train.py`` to keep modules small.  TensorFlow is imported only inside functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import COSINE_FINAL_FRACTION, NetworkConfig, TrainingConfig
from ..data.chunks import (
    ChunkBatches,
    class_weights_from_targets,
    clip_boundaries,
    default_steps_per_epoch,
    subset_boundaries,
)
from ..data.levels import pieces_noise_level
from ..errors import DasError
from ..io.params import load_params

log = logging.getLogger(__name__)

#: Dataset attributes never copied into the params (large, and DAS dropped them too).
SKIPPED_ATTRS = ("data_splits", "recording_pieces", "file_split_dict")
#: Longest JSON text of a dataset attribute copied into the params.
MAX_ATTR_CHARS = 20_000
#: Test metrics that are also stored in ``_params.yaml`` (DAS names).
PARAMS_METRIC_KEYS = ("conf_mat", "report", "test_metrics")


# ------------------------------------------------------------------------------------ inputs
def draw_seed() -> int:
    """A fresh random seed (recorded in the params)."""
    return int(np.random.SeedSequence().entropy % (2**31 - 1))


def check_resumable(paths: dict[str, str]) -> dict[str, Any]:
    """The saved params of a run that can be resumed; DasError if a file is missing."""
    for key in ("params", "checkpoint", "checkpoint_state"):
        if not os.path.isfile(paths[key]):
            raise DasError("cannot resume: the run has no epoch checkpoint (give the save name "
                           "of an interrupted run, the path before _params.yaml)", paths[key])
    saved = load_params(paths["params"])
    if saved.get("seed") is None:
        raise DasError("cannot resume: the params file records no seed", paths["params"])
    return saved


def load_saved_params(paths: dict[str, str]) -> dict[str, Any]:
    return load_params(paths["params"])


def check_writable(folder: Path) -> None:
    """Create ``folder`` and check that files can be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise DasError(f"cannot write result files here ({err.strerror or err}): choose another "
                       "--save-dir", folder) from None


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


def song_types(folder: Path) -> list[str]:
    """Song types with individual targets (``train/y_<name>.npy``)."""
    return sorted(p.stem[2:] for p in (folder / "train").glob("y_*.npy"))


def open_dataset(training: TrainingConfig) -> Any:
    """Load the dataset with one-line errors for the usual mistakes."""
    folder = Path(os.fspath(training.data_dir).rstrip("/\\"))
    if not folder.is_dir():
        raise DasError("dataset folder not found: make one with das make-dataset", folder)
    if training.y_suffix and not (folder / "train" / f"y_{training.y_suffix}.npy").is_file():
        known = ", ".join(song_types(folder)) or "none (make the dataset with individual targets)"
        raise DasError(f"song type {training.y_suffix!r} is not in the dataset; song types: "
                       f"{known}", folder)
    try:
        from ..data.dataset import load_dataset
    except ImportError:  # pragma: no cover - dataset.py re-exports the store reader
        from ..io.store import load_dataset
    dataset = load_dataset(folder, x_suffix=training.x_suffix, y_suffix=training.y_suffix)
    val = dataset.splits.get("val")
    if val is None or len(val.x) == 0:
        raise DasError("the dataset has no validation data (needed to keep the best model): "
                       "make it again with --val-fraction above 0", folder)
    return dataset


def _fraction(training: TrainingConfig, samplerate: float, nb_samples: int) -> float | None:
    f = training.fraction_data
    if f is None:
        return None
    if f > 1:  # seconds
        return min(1.0, f * samplerate / max(nb_samples, 1))
    return float(f)


def prepare_data(network: NetworkConfig, training: TrainingConfig, seed: int) -> PreparedData:
    """Open the dataset and build the training/validation batches (subsets, class weights)."""
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
    geometry = dict(nb_hist=network.nb_hist, stride=network.stride,
                    data_padding=network.data_padding, batch_size=training.batch_size,
                    class_weights=weights, output_stride=network.output_stride)
    train = ChunkBatches(train_split.x, train_split.y, pieces["train"], shuffle=True, seed=seed,
                         **geometry)
    val = ChunkBatches(val_split.x, val_split.y, pieces["val"], **geometry)
    steps = training.steps_per_epoch or default_steps_per_epoch(train)
    return PreparedData(dataset, train, val, int(steps), weights, subsets)


def data_hash(folder: str | os.PathLike, block: int = 1 << 20) -> str:
    """MD5 of a dataset folder (entries sorted case-insensitively; names and bytes hashed)."""
    digest = hashlib.md5()
    for root, dirs, files in os.walk(folder):
        dirs.sort(key=str.lower)
        for name in sorted(files, key=str.lower):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as fh:
                while chunk := fh.read(block):
                    digest.update(chunk)
    return digest.hexdigest()


def initial_params(network: NetworkConfig, training: TrainingConfig, data: PreparedData,
                   seed: int, stem: str) -> dict[str, Any]:
    """The params written before training (DAS keys, plain types)."""
    from ... import __version__

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
    )
    for name in ("train", "val"):
        first, last = data.subsets.get(name, (0, None))
        params[f"first_sample_{name}"], params[f"last_sample_{name}"] = first, last
    if training.version_data:
        params["data_hash"] = data_hash(training.data_dir)
    return params


# ------------------------------------------------------------------------------------ tensorflow
def import_tensorflow(seed: int) -> tuple[Any, Any]:
    """Import TensorFlow/Keras, seed everything and make ops deterministic."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
    return tf, keras


def learning_rate(training: TrainingConfig, steps_per_epoch: int) -> Any:
    """Adam's learning rate: a number, or the cosine schedule over the whole run."""
    import keras

    if training.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            training.effective_learning_rate, decay_steps=training.nb_epoch * steps_per_epoch,
            alpha=COSINE_FINAL_FRACTION)
    return training.effective_learning_rate


def make_strategy(name: str) -> Any:
    """The tf.distribute strategy for ``--strategy``."""
    import tensorflow as tf

    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        names = [d.name for d in devices]
        ops = None if tf.config.list_logical_devices("GPU") else \
            tf.distribute.ReductionToOneDevice()
        log.info("mirrored training on %s", ", ".join(names))
        return tf.distribute.MirroredStrategy(devices=names, cross_device_ops=ops)
    if name == "multi-worker":
        if not os.environ.get("TF_CONFIG"):
            raise DasError("--strategy multi-worker needs the TF_CONFIG environment variable "
                           "(cluster and task of this worker)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: Any) -> bool:
    """False on the non-chief workers of a multi-worker run (they write no files)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and
                                             resolver.task_id == 0 and
                                             "chief" not in resolver.cluster_spec().as_dict())


def load_checkpoint(path: str) -> Any:
    """The compiled model with its optimizer state from ``_checkpoint.keras``."""
    import keras

    from ..nn import model as model_module

    objects = model_module._custom_layers()  # registers our layers
    del objects
    return keras.saving.load_model(path, compile=True)


def initial_epoch(model: Any, state: dict[str, Any], steps: int) -> int:
    """Completed epochs of a resumed run (from the optimizer's iteration count)."""
    if not state:
        return 0
    import keras

    if int(state.get("steps_per_epoch", steps)) != steps:
        raise DasError(f"cannot resume with {steps} steps per epoch: the run used "
                       f"{state.get('steps_per_epoch')} (pass --steps-per-epoch)")
    iterations = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    done = iterations // steps
    if done != int(state.get("epoch", done)):
        log.warning("checkpoint holds %d epochs, its sidecar %s", done, state.get("epoch"))
    for key in list(state.get("history") or {}):
        state["history"][key] = state["history"][key][:done]
    state["epoch"] = done
    return done


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
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


# ------------------------------------------------------------------------------------ results
def evaluate_test(paths: dict[str, str], params: dict[str, Any], data: PreparedData,
                  training: TrainingConfig, progress: Any, stop: Any) -> dict[str, Any]:
    """Test-set probabilities, labels and scores of the best model (empty without test data).

    With ``training.post_opt`` the fill-gap/min-length search runs first on the validation split
    (also without test data) and its result goes to ``params["post_opt"]``, so the test scores
    use it.  The test split is predicted once (its probabilities feed the scores).
    """
    from ..evaluation.evaluate import evaluate_split, optimize_postprocessing, split_probabilities
    from ..evaluation.metrics import classification_report, confusion_matrix
    from ..nn.model import load_model

    test = data.dataset.splits.get("test")
    nb_hist = int(params["nb_hist"])
    has_test = test is not None and any(b - a >= nb_hist for a, b in test.boundaries)
    if not has_test and not training.post_opt:
        log.info("no test data: skipping the test evaluation")
        return {}
    model = load_model(paths["model_keras"])
    if training.post_opt:
        val = data.dataset.splits["val"]
        params["post_opt"] = optimize_postprocessing(
            model, params, np.asarray(val.x, np.float32), np.asarray(val.y, np.float32),
            boundaries=val.boundaries, progress=progress, stop=stop)
    if not has_test:
        log.info("no test data: skipping the test evaluation")
        return {}
    x_test = np.asarray(test.x, np.float32)
    y_test = np.asarray(test.y, dtype=np.float32)
    # recordings are predicted separately (no crossing)
    y_pred = split_probabilities(model, params, x_test, test.boundaries, stop=stop)
    labels_test, labels_pred = y_test.argmax(axis=1), y_pred.argmax(axis=1)
    conf = confusion_matrix(labels_test, labels_pred, len(data.dataset.class_names))
    metrics: dict[str, Any] = {
        "y_test": y_test, "y_pred": y_pred, "labels_test": labels_test,
        "labels_pred": labels_pred, "conf_mat": conf,
        "report": classification_report(conf, data.dataset.class_names),
    }
    metrics["test_metrics"] = evaluate_split(model, params, x_test, y_test, None, 0.01,
                                             boundaries=test.boundaries, stop=stop,
                                             probabilities=y_pred)
    return metrics


def write_results(path: str, history: dict[str, list], metrics: dict[str, Any],
                  params: dict[str, Any]) -> str:
    """Write ``_results.h5`` atomically; returns its path."""
    import h5py
    import yaml

    from ..io.params import to_plain

    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as fh:
            hist = fh.create_group("fit_hist")
            for key, values in history.items():
                hist.create_dataset(key, data=np.asarray(values, dtype=np.float64))
            for key in ("y_test", "y_pred", "labels_test", "labels_pred"):
                if key in metrics:
                    fh.create_dataset(key, data=metrics[key], compression="gzip")
            if "conf_mat" in metrics:
                fh.create_dataset("confusion_matrix", data=np.asarray(metrics["conf_mat"]))
                report = metrics["report"]
                names = list(params.get("class_names", []))
                for score in ("precision", "recall", "f1-score"):
                    fh.create_dataset(score.replace("-score", ""), data=np.asarray(
                        [report.get(n, {}).get(score, np.nan) for n in names], np.float64))
                fh.attrs["classification_report"] = json.dumps(to_plain(report))
            other = {k: v for k, v in metrics.items() if k not in
                     ("y_test", "y_pred", "labels_test", "labels_pred", "conf_mat", "report")
                     and not (isinstance(v, np.ndarray) and v.size > 1000)}
            fh.attrs["metrics"] = json.dumps(_jsonable(other))
            fh.attrs["class_names"] = json.dumps(list(params.get("class_names", [])))
            fh.attrs["class_types"] = json.dumps(list(params.get("class_types", [])))
            fh.attrs["samplerate_Hz"] = float(params.get("samplerate_x_Hz", math.nan))
            fh.attrs["params"] = yaml.safe_dump(to_plain(params), sort_keys=False)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return os.fspath(target)


def _jsonable(value: Any) -> Any:
    from ..io.params import to_plain

    plain = to_plain(value)
    return json.loads(json.dumps(plain, default=str, allow_nan=True))
