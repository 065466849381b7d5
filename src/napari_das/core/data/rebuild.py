"""Rebuild a dataset from its folder of recordings with the options it was made with.

The viewer's "Add to dataset" writes a proofread recording into the folder a dataset was made
from (its attribute ``data_folder``), then makes the dataset again: same store folder, event
width, gaps, splits, fractions and seed (read back from its attributes), so only the added
recording changes what it holds.

>>> attrs = {"data_folder": "/d/birds", "store_folder": "/d/birds.npy", "seed": 3,
...          "event_std_seconds": 0.002, "gap_seconds": 0.0, "file_splits": {"val": 0.5},
...          "data_splits_fractions": {"train": 0.5, "test": 0.0},
...          "make_single_class_datasets": False}
>>> c = config_from_attrs(attrs)
>>> (c.data_folder, c.store_folder, c.seed, c.val_split, c.val_fraction, c.train_split,
...  c.overwrite)
('/d/birds', '/d/birds.npy', 3, 'files', 0.5, 'samples', True)
"""

from __future__ import annotations

import os
from typing import Any

from ..config import DatasetConfig
from ..errors import DasError

SPLITS = ("train", "val", "test")


def config_from_attrs(attrs: dict[str, Any], store: str | os.PathLike | None = None
                      ) -> DatasetConfig:
    """The :class:`DatasetConfig` that makes the dataset of ``attrs`` again (overwriting it)."""
    folder = attrs.get("data_folder")
    if not folder:
        raise DasError("the dataset does not say which folder it was made from: make it again "
                       "with Make dataset", store)
    values: dict[str, Any] = {
        "data_folder": str(folder),
        "store_folder": os.fspath(store) if store is not None else attrs.get("store_folder"),
        "overwrite": True,
        "make_single_class_datasets": bool(attrs.get("make_single_class_datasets", False)),
    }
    for key in ("event_std_seconds", "gap_seconds"):
        if attrs.get(key) is not None:
            values[key] = float(attrs[key])
    if attrs.get("seed") is not None:
        values["seed"] = int(attrs["seed"])
    by_files = attrs.get("file_splits") or {}
    by_samples = attrs.get("data_splits_fractions") or {}
    for split in SPLITS:
        if split in by_files:
            values[f"{split}_split"], values[f"{split}_fraction"] = "files", float(
                by_files[split])
        elif split in by_samples:
            values[f"{split}_split"], values[f"{split}_fraction"] = "samples", float(
                by_samples[split])
    return DatasetConfig.from_dict(values).validated()


def rebuild_config(store: str | os.PathLike) -> DatasetConfig:
    """The config that makes the dataset ``store`` (``….npy``) again from its folder."""
    from ..io.store import read_attrs

    store = os.fspath(store).rstrip("/\\")
    if not os.path.isdir(store):
        raise DasError("dataset folder not found: make one with Make dataset", store)
    config = config_from_attrs(read_attrs(store), store)
    if not os.path.isdir(config.data_folder):
        raise DasError("the folder the dataset was made from is gone", config.data_folder)
    return config
