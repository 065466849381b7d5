"""``das train``: train the TCN on a dataset and write the result files (spec 5).

Files in ``save_dir`` (stem ``<prefix_><YYYYMMDD_hhmmss | save_name>``):

``_model.keras``, ``_model.h5``
    Best model (lowest validation loss), written on every improvement.
``_params.yaml``
    Safe YAML: both configs, derived values, dataset attributes, seed, history, test metrics.
    Written at the start, after every epoch and at the end.
``_results.h5``
    Fit history, test probabilities/labels aligned with the test audio, confusion matrix and
    per-class scores (written at the end).
``_checkpoint.keras``, ``_checkpoint.yaml``
    Last finished epoch with the optimizer state, for ``--resume``.

A stop request (stop token, or SIGINT/SIGTERM in the command line) ends training at the end of
the current batch; the interrupted epoch is discarded, the best model and params stay, and the
result reports ``stopped=True``.  Stopped before the first epoch ended, there is no model file
(the params record ``stopped: true, epochs_completed: 0`` and ``das predict`` refuses them).  Training is reproducible with a seed (drawn and recorded when
not given): weights, batch sampling and TensorFlow ops are seeded and deterministic.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import NetworkConfig, TrainingConfig
from ..data.splits import draw_seed
from ..errors import DasError
from ..io.files import result_paths, strip_result_suffix
from ..io.params import load_params, save_params
from ..io.results import training_results
from ..nn.das_import import DAS_LAYOUT_KEY
from ..progress import check_stop, emit
from .callbacks import EpochKeeper, keras_callback, read_state
from .data import prepare_data, tf_dataset
from .init_from import check_data, init_source, initial_model
from .inputs import check_resumable, check_writable
from .resume import initial_epoch as completed_epochs
from .resume import learning_rate, load_checkpoint
from .run_params import check_resumed_keys, initial_params
from .scoring import PARAMS_METRIC_KEYS, evaluate_test
from .seeding import import_tensorflow
from .strategy import agree_seed, is_chief, make_strategy

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    save_name: str
    model_path: str | None
    params_path: str | None  # None on the non-chief workers of a multi-worker run
    results_path: str | None
    history: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    early_stopped: bool = False
    best_epoch: int | None = None
    epochs: int = 0
    seconds: float = 0.0

    def format(self) -> str:
        """Human summary for the terminal."""
        how = ("stopped by request" if self.stopped else
               "early stopping" if self.early_stopped else "epoch budget reached")
        lines = [f"trained {self.epochs} epochs in {self.seconds:.0f} s ({how})"]
        if self.best_epoch is not None:
            best = min(v for v in self.history.get("val_loss", [math.inf]) if v == v)
            lines.append(f"best val_loss {best:.4g} at epoch {self.best_epoch}")
        report = self.metrics.get("report") or {}
        for name, scores in report.items():
            if isinstance(scores, dict) and "f1-score" in scores and "avg" not in name:
                lines.append(f"  test {name:<12} precision {scores['precision']:.3f}  recall "
                             f"{scores['recall']:.3f}  F1 {scores['f1-score']:.3f}")
        for key, label in (("model", self.model_path), ("params", self.params_path),
                           ("results", self.results_path)):
            if label:
                lines.append(f"{key:<8} {label}")
        if not self.params_path:
            lines.append("not the chief worker: the chief writes the files")
        elif not self.model_path:
            lines.append("no model: stopped before the first epoch ended (nothing trained)")
        lines.append(f"save name {self.save_name}")
        return "\n".join(lines)


def new_save_name(training: TrainingConfig) -> str:
    """``<save_dir>/<prefix_><save_name or YYYYMMDD_hhmmss>``."""
    name = training.save_name or datetime.datetime.now().strftime("%Y%m%d_%H%M%S")
    return os.path.join(os.fspath(training.save_dir or "."), training.prefix + name)


def train(network: NetworkConfig, training: TrainingConfig, progress=None,
          stop=None) -> TrainResult:
    """Train a network and write the result files.

    Parameters
    ----------
    network : NetworkConfig
        Architecture (for ``training.resume`` the saved architecture is used).
    training : TrainingConfig
        Data, optimisation and output options.
    progress : callable, optional
        Receives :class:`~napari_das.core.progress.Progress` records: ``start`` (total epochs),
        ``epoch`` (data: epoch, loss, val_loss, lr, seconds, best), ``checkpoint``, ``done``
        (data: save_name, model, params, results, stopped).
    stop : StopToken, optional
        Ends training at the end of the current batch (no model file if no epoch ended).

    Returns
    -------
    TrainResult

    Raises
    ------
    DasError
        For bad input (dataset, song type, save folder, resume target), before any file is
        written.
    """
    t_start = time.perf_counter()
    network, training = network.validated(), training.validated()
    state: dict[str, Any] = {}
    source = None  # --init-from: the model a new run starts from
    das_padding = None  # DAS's chunk margin for models fine-tuned from DAS
    if training.resume:
        stem = strip_result_suffix(training.resume)
        paths = result_paths(stem)
        saved = check_resumable(paths)
        saved_network = NetworkConfig.from_dict(saved).validated()
        if saved_network.to_dict() != network.to_dict():
            log.info("resuming with the saved architecture of %s", stem)
        network = saved_network
        state = read_state(paths["checkpoint_state"])
        seed = int(saved["seed"])
        if saved.get(DAS_LAYOUT_KEY):
            das_padding = int(saved["data_padding"])
    else:
        stem = new_save_name(training)
        paths = result_paths(stem)
        existing = [p for p in paths.values() if os.path.exists(p)]
        if existing:
            raise DasError("result files with this save name exist already: choose another "
                           "--save-name, or continue the run with --resume", existing[0])
        seed = training.seed if training.seed is not None else draw_seed()
        if training.init_from:
            source = init_source(training.init_from)
            network, das_padding = source.network, source.data_padding
    # multi-worker: before any file is written, the workers agree on the chief's seed (the same
    # batches and data subsets everywhere) and only the chief writes files.  The other
    # strategies are made later: bad input is refused before TensorFlow is imported
    strategy = make_strategy(training.strategy) if training.strategy == "multi-worker" else None
    chief = strategy is None or is_chief(strategy)
    if strategy is not None:
        seed = agree_seed(strategy, seed)
    data = prepare_data(network, training, seed, data_padding=das_padding)
    if source is not None:
        check_data(source, data.dataset.class_names, data.nb_channels, training.data_dir)
    if chief:
        check_writable(Path(stem).parent)
    check_stop(stop)

    params = initial_params(network, training, data, seed, stem)
    if source is not None:
        params.update(source.extra_params())
    if data.train.augment is not None:  # DAS keeps the augmentation dict in its params
        params["augmentations"] = data.train.augment.spec
    if training.resume:
        saved = load_params(paths["params"])
        check_resumed_keys(saved, params, paths["params"])
        params = {**saved, **params}
    if chief:
        save_params(paths["params"], params)

    tf, keras = import_tensorflow(seed)
    if strategy is None:
        strategy = make_strategy(training.strategy)
    with strategy.scope():
        if training.resume:
            model = load_checkpoint(paths["checkpoint"])
        elif source is not None:
            model = initial_model(source, learning_rate(training, data.steps_per_epoch),
                                  ema_momentum=training.ema_momentum)
        else:
            from ..nn.model import build_model

            model = build_model(network, data.nb_channels, data.nb_classes,
                                learning_rate=learning_rate(training, data.steps_per_epoch),
                                ema_momentum=training.ema_momentum)
    from ..nn.fastconv import use_fast_convolutions
    from ..nn.precision import compute_dtype

    # exact gradients at about half the step time; saved files unchanged.  --batch-size is the
    # global batch: each of the strategy's replicas runs its share of it
    counts = use_fast_convolutions(model, compute_dtype(training.precision),
                                   batch=math.ceil(training.batch_size /
                                                   strategy.num_replicas_in_sync),
                                   frames=network.nb_hist // network.hop)
    params["precision_used"] = "bfloat16" if counts["low"] else "float32"
    steps = data.steps_per_epoch
    initial_epoch = completed_epochs(model, state, steps)
    train_ds = tf_dataset(tf, data.train, start=initial_epoch * steps, infinite=True)
    val_ds = tf_dataset(tf, data.val, take=training.validation_steps)

    def write_params(k: EpochKeeper) -> None:
        params.update(history=k.history, best_epoch=k.best_epoch, epochs_completed=k.epochs_done)
        save_params(paths["params"], params)

    keeper = EpochKeeper(paths, training.nb_epoch, training.early_stop_patience,
                         training.reduce_lr, training.reduce_lr_patience, steps,
                         write_params=write_params, progress=progress, stop=stop, state=state,
                         save_files=chief)
    callbacks = [keras_callback(keeper)]
    if getattr(model.optimizer, "use_ema", False):
        # averaged weights in the model for validation and for the keeper's saves (placed first:
        # its on_epoch_end swaps them in before the keeper saves)
        callbacks.insert(0, keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if training.tensorboard and chief:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=stem + "_logs"))
    emit(progress, "start", task="train", current=initial_epoch, total=training.nb_epoch,
         message=f"training {stem} for up to {training.nb_epoch} epochs of {steps} batches",
         data={"save_name": stem, "steps_per_epoch": steps, "initial_epoch": initial_epoch,
               "seed": seed})
    interrupted = False
    try:
        if initial_epoch < training.nb_epoch:
            model.fit(train_ds, epochs=training.nb_epoch, initial_epoch=initial_epoch,
                      steps_per_epoch=steps, validation_data=val_ds, callbacks=callbacks,
                      shuffle=False, verbose=0)
    except KeyboardInterrupt:
        interrupted = keeper.stopped = True
        log.info("interrupted: keeping the best model and params")
    except tf.errors.UnavailableError as err:
        if training.strategy != "multi-worker":
            raise
        # another worker died or cannot be reached: TensorFlow notices within seconds (missing
        # heartbeats) and aborts the collective; its message is a long graph trace
        lost = re.search(r"heartbeats\): (\S+)", str(err))
        raise DasError(f"multi-worker training lost {lost.group(1) if lost else 'a worker'}: "
                       f"start every worker again with --resume {stem} (the chief kept the last "
                       "finished epoch)") from None
    stopped = keeper.stopped
    trained = keeper.has_best_model or keeper.epochs_done > 0
    if not trained:
        # stopped before the first epoch ended: an untrained network is no model; writing one
        # would let das predict run it silently.  The params record the stop (epochs 0).
        log.warning("stopped before the first epoch ended: no model file written")
    elif not keeper.has_best_model and keeper.save_files:
        # epochs ran but none had a finite val_loss: keep the last weights
        from .callbacks import save_model_atomic

        save_model_atomic(model, paths["model_keras"])
        save_model_atomic(model, paths["model"])

    metrics: dict[str, Any] = {}
    results_path = None
    if keeper.save_files:
        with training_results(paths["results"]) as results:  # test arrays streamed in
            if not stopped:
                metrics = evaluate_test(paths, params, data, training, progress, stop, results)
            results.finish(keeper.history, metrics, params)
        results_path = paths["results"]
        params.update(history=keeper.history, best_epoch=keeper.best_epoch,
                      epochs_completed=keeper.epochs_done, stopped=stopped,
                      early_stopped=keeper.early_stopped,
                      training_seconds=time.perf_counter() - t_start,
                      **{k: v for k, v in metrics.items() if k in PARAMS_METRIC_KEYS})
        save_params(paths["params"], params)
    result = TrainResult(save_name=stem, model_path=paths["model"] if trained and chief else None,
                         params_path=paths["params"] if chief else None,
                         results_path=results_path, history=keeper.history,
                         metrics=metrics, stopped=stopped, early_stopped=keeper.early_stopped,
                         best_epoch=keeper.best_epoch, epochs=keeper.epochs_done,
                         seconds=time.perf_counter() - t_start)
    emit(progress, "done", task="train", current=keeper.epochs_done, total=training.nb_epoch,
         message=f"training {'stopped' if stopped else 'done'}: {stem}",
         data={"save_name": stem, "model": result.model_path, "params": result.params_path,
               "results": results_path, "stopped": stopped, "best_epoch": keeper.best_epoch})
    if interrupted:
        raise KeyboardInterrupt
    return result

