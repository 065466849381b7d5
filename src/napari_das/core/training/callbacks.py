"""Per-epoch bookkeeping of a training run: best model, checkpoint, early stopping, LR, stop.

:class:`EpochKeeper` holds all the logic in plain Python (state that a resumed run restores from
``<save_name>_checkpoint.yaml``); :func:`keras_callback` wraps it in a Keras callback.  Keras is
imported only inside functions.

Order of the files written at the end of an epoch (Keras 3 quirk, PLATFORM.md: save ``.keras``
before ``.h5``): ``_checkpoint.keras`` (model + optimizer), ``_checkpoint.yaml`` (epoch, history,
early-stopping state), then on improvement ``_model.keras`` (a copy of that checkpoint) and
``_model.h5`` (best model),
then ``_params.yaml`` (history so far).  Every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..io.files import atomic_write_text, replaced_file
from ..io.params import to_plain
from ..progress import emit

log = logging.getLogger(__name__)

#: ReduceLROnPlateau defaults of Keras that DAS relied on (factor, min_delta).
LR_FACTOR = 0.1
LR_MIN_DELTA = 1e-4


def save_model_atomic(model: Any, path: str | os.PathLike) -> None:
    """Save ``model`` to ``path`` (``.keras`` or ``.h5``) through a temporary file + rename.

    A ``.h5`` gets the weights in the layout of DAS's ``_model.h5`` (DAS 0.32 loads it with the
    network it builds from ``_params.yaml``; a Keras 3 h5 model it cannot read); the ``.keras``
    file holds the whole model.
    """
    path = Path(os.fspath(path))
    if not path.name.endswith(".keras"):
        from ..nn.das_import import write_das_h5

        write_das_h5(model, path)
        return
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``_checkpoint.yaml`` sidecar."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


class EpochKeeper:
    """Everything that happens between epochs, independent of Keras.

    Parameters
    ----------
    paths : dict
        :func:`~napari_das.core.io.params.result_paths` of the run.
    nb_epoch, early_stop_patience : int
        Epoch budget and patience (epochs without val-loss improvement).
    reduce_lr, reduce_lr_patience
        Reduce the LR by 10x after this many epochs without improvement (min_delta 1e-4).
    steps_per_epoch : int
        Recorded with the checkpoint (a resumed run must use the same).
    write_params : callable
        Called with the keeper after every epoch to rewrite ``_params.yaml``.
    progress, stop
        Progress callback and stop token.
    state : dict, optional
        Restored sidecar of an interrupted run.
    save_files : bool
        False on non-chief workers (multi-worker training).
    """

    def __init__(self, paths: dict[str, str], nb_epoch: int, early_stop_patience: int,
                 reduce_lr: bool, reduce_lr_patience: int, steps_per_epoch: int,
                 write_params: Callable[[EpochKeeper], None] | None = None,
                 progress: Any = None, stop: Any = None, state: dict | None = None,
                 save_files: bool = True) -> None:
        self.paths = paths
        self.nb_epoch = int(nb_epoch)
        self.early_stop_patience = int(early_stop_patience)
        self.reduce_lr = bool(reduce_lr)
        self.reduce_lr_patience = int(reduce_lr_patience)
        self.steps_per_epoch = int(steps_per_epoch)
        self.write_params = write_params
        self.progress = progress
        self.stop = stop
        self.save_files = save_files
        state = dict(state or {})
        self.epochs_done = int(state.get("epoch", 0))
        self.history: dict[str, list] = {k: list(v) for k, v in
                                         (state.get("history") or {}).items()}
        self.best = state.get("best_val_loss")
        self.best = math.inf if self.best is None else float(self.best)
        self.best_epoch = state.get("best_epoch")
        self.wait = int(state.get("wait", 0))
        self.lr_best = state.get("lr_best")
        self.lr_best = math.inf if self.lr_best is None else float(self.lr_best)
        self.lr_wait = int(state.get("lr_wait", 0))
        self.stopped = False  # a stop request interrupted the epoch
        self.early_stopped = False
        self._t0 = time.perf_counter()

    # ------------------------------------------------------------------ state
    def state(self, iterations: int | None = None) -> dict[str, Any]:
        """The sidecar content (plain types)."""
        return to_plain({
            "epoch": self.epochs_done, "iterations": iterations,
            "steps_per_epoch": self.steps_per_epoch,
            "best_val_loss": None if math.isinf(self.best) else self.best,
            "best_epoch": self.best_epoch, "wait": self.wait,
            "lr_best": None if math.isinf(self.lr_best) else self.lr_best,
            "lr_wait": self.lr_wait, "history": self.history,
        })

    @property
    def has_best_model(self) -> bool:
        return self.best_epoch is not None

    # ------------------------------------------------------------------ hooks
    def epoch_begin(self) -> None:
        self._t0 = time.perf_counter()

    def batch_end(self) -> bool:
        """True if training must stop now (stop token set)."""
        if self.stop is not None and self.stop.is_set():
            self.stopped = True
        return self.stopped

    def epoch_end(self, model: Any, epoch: int, logs: dict[str, Any], lr: float,
                  set_lr: Callable[[float], None], iterations: int | None = None) -> bool:
        """Record epoch ``epoch`` (0-based); returns True if training should stop."""
        if self.stopped:  # interrupted epoch: partial loss values are not comparable
            return True
        seconds = time.perf_counter() - self._t0
        loss = float(logs.get("loss", math.nan))
        val_loss = float(logs.get("val_loss", math.nan))
        for key, value in (("loss", loss), ("val_loss", val_loss), ("lr", lr),
                           ("seconds", seconds)):
            self.history.setdefault(key, []).append(value)
        self.epochs_done = epoch + 1
        improved = math.isfinite(val_loss) and val_loss < self.best
        if improved:
            self.best, self.best_epoch, self.wait = val_loss, epoch + 1, 0
        else:
            self.wait += 1
        if self.reduce_lr:
            if math.isfinite(val_loss) and val_loss < self.lr_best - LR_MIN_DELTA:
                self.lr_best, self.lr_wait = val_loss, 0
            else:
                self.lr_wait += 1
                if self.lr_wait >= self.reduce_lr_patience:
                    set_lr(lr * LR_FACTOR)
                    log.info("reducing the learning rate to %.3g", lr * LR_FACTOR)
                    self.lr_wait = 0
        if self.save_files:
            save_model_atomic(model, self.paths["checkpoint"])
            atomic_write_text(self.paths["checkpoint_state"],
                              yaml.safe_dump(self.state(iterations), sort_keys=False))
            if improved:
                # the best model is this epoch's checkpoint: a copy of the file (5 ms) instead
                # of a second Keras save (95 ms for the bird network)
                with replaced_file(self.paths["model_keras"]) as temp:
                    shutil.copyfile(self.paths["checkpoint"], temp)
                save_model_atomic(model, self.paths["model"])
            if self.write_params is not None:
                self.write_params(self)
        line = (f"epoch {epoch + 1}/{self.nb_epoch}: loss {loss:.4g}, val_loss {val_loss:.4g}"
                f"{' (best)' if improved else ''}, lr {lr:.3g}, {seconds:.1f} s")
        emit(self.progress, "epoch", task="train", current=epoch + 1, total=self.nb_epoch,
             message=line, data={"epoch": epoch + 1, "loss": loss, "val_loss": val_loss,
                                 "lr": lr, "seconds": seconds, "best": bool(improved)})
        if improved and self.save_files:
            emit(self.progress, "checkpoint", task="train", current=epoch + 1,
                 total=self.nb_epoch, message=f"saved best model {self.paths['model']}",
                 data={"path": self.paths["model"], "epoch": epoch + 1, "val_loss": val_loss})
        if self.wait >= self.early_stop_patience:
            log.info("early stopping: val_loss has not improved for %d epochs", self.wait)
            self.early_stopped = True
            return True
        return self.batch_end()


def keras_callback(keeper: EpochKeeper) -> Any:
    """A Keras callback that drives ``keeper`` (stops at the end of the current batch)."""
    import keras

    class _Callback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            keeper.epoch_begin()

        def on_train_batch_end(self, batch, logs=None):
            if keeper.batch_end():
                self.model.stop_training = True

        def on_test_batch_end(self, batch, logs=None):
            if keeper.batch_end():
                self.model.stop_evaluating = True

        def on_epoch_end(self, epoch, logs=None):
            optimizer = self.model.optimizer
            lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            iterations = int(keras.ops.convert_to_numpy(optimizer.iterations))
            if keeper.epoch_end(self.model, epoch, dict(logs or {}), lr,
                                lambda value: optimizer.learning_rate.assign(value), iterations):
                self.model.stop_training = True

    return _Callback()
