"""Input checks of a training run, before any file is written: the dataset (with one-line
errors for the usual mistakes), the save folder and the run to resume.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..config import TrainingConfig
from ..errors import DasError
from ..io.params import load_params
from ..io.store import load_dataset


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
    dataset = load_dataset(folder, x_suffix=training.x_suffix, y_suffix=training.y_suffix)
    val = dataset.splits.get("val")
    if val is None or len(val.x) == 0:
        raise DasError("the dataset has no validation data (needed to keep the best model): "
                       "make it again with --val-fraction above 0", folder)
    return dataset
