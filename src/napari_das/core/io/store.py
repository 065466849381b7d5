"""The npy-dir dataset layout (spec 2.4): reading (ours and DAS's) and writing helpers.

::

    name.npy/
      attrs.npy      pickled dict of plain types (what DAS reads; numpy 1 and 2 read it)
      attrs.yaml     the same attributes as safe YAML (what we read when present)
      train/ x.npy y.npy [y_<name>.npy ...]
      val/   ...
      test/  ...

Our datasets store float32 arrays and record the recording pieces of every split
(``recording_pieces``) so that training chunks never straddle two recordings. DAS datasets
(float16 arrays, attributes only in the pickled ``attrs.npy``) are read as they are; every split is
then one recording piece.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import DasError
from .params import to_plain
from .safe_npy import load_pickled_npy, save_pickled_npy

log = logging.getLogger(__name__)

ATTRS_NPY = "attrs.npy"
ATTRS_YAML = "attrs.yaml"
SPLIT_NAMES = ("train", "val", "test")


def write_attrs(folder: str | os.PathLike, attrs: dict[str, Any]) -> None:
    """Write ``attrs.npy`` (DAS-readable pickle of a plain dict) and ``attrs.yaml`` (safe copy)."""
    folder = Path(folder)
    attrs = to_plain(attrs)
    save_pickled_npy(folder / ATTRS_NPY, attrs)  # numpy 1 (DAS) and numpy 2 read it
    with open(folder / ATTRS_YAML, "w", encoding="utf-8") as file:
        yaml.safe_dump(attrs, file, sort_keys=False, allow_unicode=True)


def read_attrs(folder: str | os.PathLike) -> dict[str, Any]:
    """Attributes of a dataset: ``attrs.yaml`` if present, else DAS's pickled ``attrs.npy``."""
    folder = Path(folder)
    yaml_path, npy_path = folder / ATTRS_YAML, folder / ATTRS_NPY
    if yaml_path.is_file():
        try:
            with open(yaml_path, encoding="utf-8") as file:
                attrs = yaml.safe_load(file)
        except yaml.YAMLError as exc:
            raise DasError(f"unreadable attributes ({' '.join(str(exc).split())[:120]}); "
                           f"delete it to fall back to {ATTRS_NPY}", yaml_path) from exc
    elif npy_path.is_file():
        attrs = load_pickled_npy(npy_path)  # restricted: plain data only, never code
    else:
        raise DasError(f"not a dataset: no {ATTRS_NPY} inside; choose a folder made by "
                       "make-dataset (name.npy)", folder)
    if not isinstance(attrs, dict):
        raise DasError("dataset attributes are not a dictionary; make the dataset again", folder)
    return to_plain(attrs)


@dataclass
class Split:
    """One split of a dataset.

    Attributes
    ----------
    x : array [T, C]
        Audio (memory-mapped when loaded with ``mmap=True``).
    y : array [T, K]
        Targets.
    boundaries : list of (start, stop)
        Recording pieces inside the split arrays; a training chunk must not cross them.
    arrays : dict
        Every ``*.npy`` of the split folder by stem (``x``, ``y``, ``y_<name>``...).
    stems : list of str
        Recording of every piece (empty names for DAS datasets).
    """

    x: np.ndarray
    y: np.ndarray
    boundaries: list[tuple[int, int]]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    stems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class Dataset:
    """A loaded npy-dir dataset (see :func:`load_dataset`)."""

    path: str
    attrs: dict[str, Any]
    class_names: list[str]
    class_types: list[str]
    samplerate: float
    splits: dict[str, Split]

    @property
    def nb_channels(self) -> int:
        return int(self.splits["train"].x.shape[1]) if "train" in self.splits else 0

    @property
    def nb_classes(self) -> int:
        return len(self.class_names)


def load_dataset(path: str | os.PathLike, x_suffix: str = "", y_suffix: str = "",
                 mmap: bool = True) -> Dataset:
    """Open a dataset made by ``das make-dataset`` or by DAS.

    Parameters
    ----------
    path : str or os.PathLike
        The ``name.npy`` folder.
    x_suffix, y_suffix : str
        Use ``x_<x_suffix>`` / ``y_<y_suffix>`` (e.g. an individual target) instead of ``x``/``y``;
        the class names and types then come from ``class_names_<y_suffix>`` and
        ``class_types_<y_suffix>``, the rate from ``samplerate_x_<x_suffix>_Hz`` if present.
    mmap : bool
        Memory-map the arrays (read on access) instead of loading them into RAM.

    Returns
    -------
    Dataset
        Arrays keep their stored dtype (float32 for ours, float16 for DAS's).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DasError("dataset folder not found; make one with das make-dataset", folder)
    attrs = read_attrs(folder)
    x_key = f"x_{x_suffix}" if x_suffix else "x"
    y_key = f"y_{y_suffix}" if y_suffix else "y"
    class_names = attrs.get(f"class_names_{y_suffix}") if y_suffix else None
    class_types = attrs.get(f"class_types_{y_suffix}") if y_suffix else None
    if class_names is None or class_types is None:
        class_names, class_types = attrs.get("class_names"), attrs.get("class_types")
    if not class_names or not class_types:
        raise DasError("dataset attributes lack class_names/class_types; make the dataset again",
                       folder / ATTRS_NPY)
    rate = attrs.get(f"samplerate_x_{x_suffix}_Hz") if x_suffix else None
    rate = rate if rate is not None else attrs.get("samplerate_x_Hz")
    if rate is None:
        raise DasError("dataset attributes lack samplerate_x_Hz; make the dataset again",
                       folder / ATTRS_NPY)
    pieces = attrs.get("recording_pieces") or {}
    splits: dict[str, Split] = {}
    for name in SPLIT_NAMES:
        split_folder = folder / name
        if not split_folder.is_dir():
            continue
        arrays = {p.stem: _load_array(p, mmap) for p in sorted(split_folder.glob("*.npy"))}
        for key in (x_key, y_key):
            if key not in arrays:
                found = ", ".join(sorted(arrays)) or "no arrays"
                raise DasError(f"split {name} has no {key}.npy (found: {found}); check "
                               "--x-suffix/--y-suffix or make the dataset again", split_folder)
        x, y = arrays[x_key], arrays[y_key]
        if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
            raise DasError(f"split {name}: x {x.shape} and y {y.shape} do not match; make the "
                           "dataset again", split_folder)
        if name in pieces:
            stems = [str(row[0]) for row in pieces[name]]
            boundaries = [(int(row[1]), int(row[2])) for row in pieces[name]]
            if boundaries and boundaries[-1][1] != len(x):
                raise DasError(f"split {name}: recording_pieces end at {boundaries[-1][1]} but "
                               f"the arrays have {len(x)} samples; make the dataset again",
                               split_folder)
        else:
            stems, boundaries = ([""], [(0, len(x))]) if len(x) else ([], [])
        splits[name] = Split(x=x, y=y, boundaries=boundaries, arrays=arrays, stems=stems)
    if "train" not in splits:
        raise DasError("dataset has no train split; make the dataset again", folder)
    return Dataset(path=os.fspath(folder), attrs=attrs, class_names=list(class_names),
                   class_types=list(class_types), samplerate=float(rate), splits=splits)


def _load_array(path: Path, mmap: bool) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DasError(f"unreadable array ({' '.join(str(exc).split())[:120]}); make the "
                       "dataset again", path) from exc


def open_arrays(folder: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Create writable float32 ``.npy`` memmaps ``<folder>/<key>.npy`` of the given shapes."""
    folder.mkdir(parents=True, exist_ok=True)
    return {key: np.lib.format.open_memmap(folder / f"{key}.npy", mode="w+", dtype=np.float32,
                                           shape=tuple(int(s) for s in shape))
            for key, shape in shapes.items()}
