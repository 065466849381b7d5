"""``DatasetConfig``: the options of ``das make-dataset``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import DasError
from .base import ConfigBase, option

SPLIT_MODES = ("samples", "files")


@dataclass
class DatasetConfig(ConfigBase):
    """Options of ``das make-dataset`` (the seed's "Make dataset for training" dialog)."""

    data_folder: str = option("", "folder with exported audio and <stem>_annotations.csv files",
                              positional=True, label="Data folder", widget="dir")
    store_folder: str | None = option(None, "output dataset folder, must end in .npy "
                                      "(default: <data_folder>.npy)", label="Store folder",
                                      widget="save_dir")
    make_single_class_datasets: bool = option(
        False, "also write individual training targets y_<name>.npy for every song type",
        label="Individual targets")
    event_std_seconds: float = option(0.0016, "std of the Gaussian that widens events, seconds "
                                      "(0: one-sample events)", min=0.0, label="Event width (s)")
    gap_seconds: float = option(0.0, "silence enforced between adjacent segments, seconds",
                                min=0.0, label="Gap between segments (s)")
    train_split: str = option("samples", "split train by 'samples' or by 'files'",
                              choices=SPLIT_MODES, label="Train split by")
    train_fraction: float = option(0.6, "fraction of the data for training", min=0.0, max=1.0,
                                   label="Train fraction")
    val_split: str = option("samples", "split validation by 'samples' or by 'files'",
                            choices=SPLIT_MODES, label="Validation split by")
    val_fraction: float = option(0.2, "fraction of the data for validation", min=0.0, max=1.0,
                                 label="Validation fraction")
    test_split: str = option("samples", "split test by 'samples' or by 'files'",
                             choices=SPLIT_MODES, label="Test split by")
    test_fraction: float = option(0.2, "fraction of the data for testing", min=0.0, max=1.0,
                                  label="Test fraction")
    seed: int | None = option(None, "seed for the splits (default: drawn at random and recorded "
                              "in the dataset)", min=0, label="Seed")
    overwrite: bool = option(False, "replace an existing store folder", label="Overwrite")

    def _check(self) -> None:
        if not self.data_folder:
            raise DasError("no data folder given: name the folder with your exported recordings")
        if self.store_folder is not None and not str(self.store_folder).rstrip("/\\").endswith(".npy"):
            raise DasError("the store folder must end in .npy (DAS's npy-dir layout), "
                           "for example data.npy", self.store_folder)
        fractions = {s: getattr(self, f"{s}_fraction") for s in ("train", "val", "test")}
        if fractions["train"] <= 0:
            raise DasError("--train-fraction must be above 0: a dataset needs training data")
        file_sum = sum(v for s, v in fractions.items() if getattr(self, f"{s}_split") == "files")
        if file_sum > 1 + 1e-9:
            raise DasError(f"the fractions split by files add up to {file_sum:g}, more than 1: "
                           "lower --train/--val/--test-fraction")
        total = sum(fractions.values())
        by_samples = any(getattr(self, f"{s}_split") == "samples" and v > 0
                         for s, v in fractions.items())
        if not by_samples and abs(total - 1) > 1e-6:
            raise DasError(f"the split fractions add up to {total:g}: they must add up to 1")
        if by_samples and abs(total - 1) > 1e-6:
            raise DasError(f"the split fractions add up to {total:g}, not 1: "
                           "adjust --train/--val/--test-fraction")

    @property
    def resolved_store_folder(self) -> str:
        """The store folder, defaulting to ``<data_folder>.npy``."""
        if self.store_folder:
            return os.fspath(self.store_folder).rstrip("/\\")
        return os.fspath(self.data_folder).rstrip("/\\") + ".npy"
