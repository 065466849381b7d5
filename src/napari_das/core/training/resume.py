"""Continuing a run: the optimizer's learning rate (schedule), the checkpoint with its optimizer
state and the epoch to start from (``--resume``).
"""

from __future__ import annotations

import logging
from typing import Any

from ..config import COSINE_FINAL_FRACTION, TrainingConfig
from ..errors import DasError
from ..nn.model import custom_objects

log = logging.getLogger(__name__)


def learning_rate(training: TrainingConfig, steps_per_epoch: int) -> Any:
    """Adam's learning rate: a number, or the cosine schedule over the whole run."""
    import keras

    if training.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            training.effective_learning_rate, decay_steps=training.nb_epoch * steps_per_epoch,
            alpha=COSINE_FINAL_FRACTION)
    return training.effective_learning_rate


def load_checkpoint(path: str) -> Any:
    """The compiled model with its optimizer state from ``_checkpoint.keras``."""
    import keras

    custom_objects()  # registers our layers
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
