"""Make a DAS-compatible training dataset from a folder of recordings and annotations (spec 2).

:func:`make_dataset` pairs every ``<stem>_annotations.csv`` with its audio (``<stem>.npz``,
``.wav``, ``.h5``, ``.flac``, ``.ogg``, first hit wins), checks everything before writing, builds
the targets (:mod:`~napari_das.core.data.targets`), splits the recordings
(:mod:`~napari_das.core.data.splits`) and writes the npy-dir layout (:mod:`~napari_das.core.io.store`).

Fixes over DAS: audio is stored as float32; the split seed is applied to every split mode and
recorded (drawn at random when not given); the recording pieces of every split are recorded
(``recording_pieces`` and DAS's formerly empty ``filename_*`` lists); attributes are also written
as safe YAML; only one recording is held in memory while the split arrays are filled through
memory maps; the dataset is assembled in a hidden temporary folder next to the target and renamed
at the end, so an error or a stop leaves nothing behind.

Design choice: an annotation file without audio is an error naming the file (DAS skipped it with
a warning, which silently shrinks datasets). Audio files without annotations are ignored.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ... import __version__
from .. import timebase
from ..config import DatasetConfig
from ..errors import DasError
from ..io import audio
from ..io.annotations import ANNOTATIONS_SUFFIX, Annotations
from ..io.store import ATTRS_NPY, load_dataset, open_arrays, write_attrs  # noqa: F401 (re-export)
from ..progress import check_stop, emit
from .splits import SPLIT_NAMES, plan_splits
from .targets import make_targets, safe_file_names, seconds_to_indices, single_class_targets

log = logging.getLogger(__name__)

NOISE = "noise"


@dataclass
class Recording:
    """One audio file with its annotations, as checked before writing."""

    stem: str
    audio_path: Path
    annotations_path: Path
    samplerate: float
    frames: int
    channels: int
    annotations: Annotations
    dataset_frames: int = 0  # number of samples at the dataset rate


@dataclass
class DatasetSummary:
    """What :func:`make_dataset` wrote (``format()`` is the summary the command line prints)."""

    store_folder: str
    class_names: list[str]
    class_types: list[str]
    class_counts: dict[str, int]
    seconds_per_split: dict[str, float]
    files_per_split: dict[str, int]
    nb_files: int
    samplerate: float
    nb_channels: int
    seed: int
    warnings: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"Wrote {self.store_folder}: {self.nb_files} recording(s) at {self.samplerate:g} "
                 f"Hz, {self.nb_channels} channel(s), split seed {self.seed}"]
        classes = ", ".join(
            f"{name} ({kind}{'' if name == NOISE else f', {self.class_counts.get(name, 0)}'})"
            for name, kind in zip(self.class_names, self.class_types))
        lines.append(f"classes: {classes}")
        for split in SPLIT_NAMES:
            lines.append(f"{split:>5}: {self.seconds_per_split.get(split, 0.0):9.2f} s from "
                         f"{self.files_per_split.get(split, 0)} recording(s)")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------- inputs
def pair_recordings(folder: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Pair every ``<stem>_annotations.csv`` in ``folder`` with its audio file (spec 1.4).

    Audio is looked up as ``<stem>`` + each of :data:`napari_das.core.io.audio.AUDIO_SUFFIXES`
    in that order. Non-recursive; sorted by file name.

    Returns
    -------
    list of (audio_path, annotations_path)

    Raises
    ------
    DasError
        The folder is missing or has no annotation files, or an annotation file has no audio.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DasError("data folder not found; choose the folder with your exported recordings",
                       folder)
    pairs = []
    for annotations_path in sorted(folder.glob(f"*{ANNOTATIONS_SUFFIX}")):
        stem = annotations_path.name[: -len(ANNOTATIONS_SUFFIX)]
        candidates = [folder / f"{stem}{suffix}" for suffix in audio.AUDIO_SUFFIXES]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise DasError(f"no audio file {stem}.npz/.wav/.h5/.flac/.ogg for these annotations; "
                           "export the audio next to it or move the CSV out of the folder",
                           annotations_path)
        pairs.append((found, annotations_path))
    if not pairs:
        raise DasError(f"no *{ANNOTATIONS_SUFFIX} files in the data folder; export recordings "
                       "and annotations there first (audio <stem>.wav + <stem>_annotations.csv)",
                       folder)
    return pairs


def _csv_line(path: Path, name: str, start: float) -> str:
    """'line N' of the first CSV row with this name and start time (best effort)."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        starts = pd.to_numeric(raw["start_seconds"], errors="coerce").to_numpy(float)
        rows = np.flatnonzero((raw["name"].to_numpy() == name) & np.isclose(starts, start))
        if len(rows):
            return f"line {int(rows[0]) + 2}"
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        pass
    return "row"


def check_times(recording: Recording) -> None:
    """Raise :class:`DasError` for annotations outside the recording (naming file and line)."""
    fs, frames = recording.samplerate, recording.frames
    duration = frames / fs
    table = recording.annotations.df
    starts = table["start_seconds"].to_numpy(float)
    stops = table["stop_seconds"].to_numpy(float)
    first, _ = seconds_to_indices(starts, stops, fs)
    problems = [
        (starts < 0, "starts before 0 s; fix or delete that row"),
        (first >= frames, f"starts after the end of the recording ({duration:g} s); fix or "
                          "delete that row or check that the audio file is complete"),
        (timebase.to_sample(stops, fs) > frames, f"ends past the end of the recording ({duration:g} s); fix "
                                    "the stop time or check that the audio file is complete"),
    ]
    for bad, message in problems:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            name, start, stop = table.iloc[row][["name", "start_seconds", "stop_seconds"]]
            line = _csv_line(recording.annotations_path, name, start)
            raise DasError(f"{line} ({name!r} {start:g}-{stop:g} s) {message}",
                           recording.annotations_path)


def inspect_recordings(pairs: list[tuple[Path, Path]], progress=None,
                       stop=None) -> list[Recording]:
    """Probe audio, read and check annotations of every pair (no audio samples are read)."""
    recordings = []
    emit(progress, "start", task="checking recordings", total=len(pairs))
    for number, (audio_path, annotations_path) in enumerate(pairs, start=1):
        check_stop(stop)
        probe = _probe(audio_path)
        if probe.frames <= 0:
            raise DasError("the recording has no samples; re-export it or remove it and its "
                           "annotations", audio_path)
        stem = annotations_path.name[: -len(ANNOTATIONS_SUFFIX)]
        recording = Recording(stem, audio_path, annotations_path, float(probe.samplerate),
                              int(probe.frames), int(probe.channels),
                              Annotations.from_file(annotations_path))
        check_times(recording)
        recordings.append(recording)
        emit(progress, "step", task="checking recordings", current=number, total=len(pairs))
    return recordings


def _probe(path: Path) -> audio.AudioInfo:
    try:
        return audio.info(path)
    except DasError:
        raise
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        raise DasError(f"unreadable audio ({' '.join(str(exc).split())[:120]}); re-export it",
                       path) from exc


def _read(recording: Recording, samplerate: float) -> np.ndarray:
    try:
        data, fs = audio.read(recording.audio_path)
    except DasError:
        raise
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        raise DasError(f"unreadable audio ({' '.join(str(exc).split())[:120]}); re-export it",
                       recording.audio_path) from exc
    if len(data) != recording.frames:
        raise DasError(f"read {len(data)} samples but the header announces {recording.frames}; "
                       "the file is truncated, re-export it", recording.audio_path)
    if fs != samplerate:
        data = audio.resample(data, fs, samplerate)
    wanted = recording.dataset_frames
    if len(data) < wanted:
        data = np.concatenate([data, np.zeros((wanted - len(data), data.shape[1]), data.dtype)])
    return np.asarray(data[:wanted], dtype=np.float32)


def discover_classes(recordings: list[Recording]) -> tuple[list[str], list[str]]:
    """``noise`` first, then every song type sorted by name (spec 2.1); first category wins."""
    categories: dict[str, str] = {}
    for recording in recordings:
        for name, category in recording.annotations.categories.items():
            if name == NOISE:
                log.warning("%s: song type 'noise' is the background class and is ignored",
                            recording.annotations_path)
                continue
            if name in categories and categories[name] != category:
                log.warning("%s: %r is a %s here but a %s in an earlier file; using %s",
                            recording.annotations_path, name, category, categories[name],
                            categories[name])
            categories.setdefault(name, category)
    if not categories:
        raise DasError("none of the annotation files names a song type; annotate some song "
                       "first", recordings[0].annotations_path.parent)
    names = sorted(categories)
    return [NOISE] + names, ["segment"] + [categories[n] for n in names]


# ----------------------------------------------------------------------------------- output
def _check_store(store: Path, overwrite: bool) -> None:
    if not store.parent.is_dir():
        raise DasError("the folder for the dataset does not exist; create it first",
                       store.parent)
    if store.exists():
        if not overwrite:
            raise DasError("the store folder exists; choose another name or use --overwrite",
                           store)
        if not store.is_dir() or (any(store.iterdir()) and not (store / ATTRS_NPY).is_file()):
            raise DasError("exists and is not a dataset; refusing to replace it, choose another "
                           "name", store)


def _replace(temporary: Path, store: Path) -> None:
    """Move the finished dataset into place; an existing (checked) dataset is replaced."""
    if store.exists():
        old = store.with_name(f".{store.name}.old-{secrets.token_hex(4)}")
        os.replace(store, old)
        os.replace(temporary, store)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(temporary, store)


def make_dataset(config: DatasetConfig, progress=None, stop=None) -> DatasetSummary:
    """Make an npy-dir dataset (``das make-dataset``).

    Parameters
    ----------
    config : DatasetConfig
        Data and store folders, targets, splits and seed.
    progress : callable, optional
        Receives :class:`~napari_das.core.progress.Progress` records (start/step per file).
    stop : StopToken, optional
        Checked between files; a stop removes the partial dataset.

    Returns
    -------
    DatasetSummary

    Raises
    ------
    DasError
        Any problem with the inputs (nothing is written then).
    """
    config = config.validated()
    data_folder = Path(config.data_folder)
    store = Path(config.resolved_store_folder)
    warnings: list[str] = []
    pairs = pair_recordings(data_folder)
    _check_store(store, config.overwrite)
    recordings = inspect_recordings(pairs, progress, stop)

    channels = {r.channels for r in recordings}
    if len(channels) > 1:
        first = recordings[0]
        odd = next(r for r in recordings if r.channels != first.channels)
        raise DasError(f"has {odd.channels} channel(s) but {first.audio_path.name} has "
                       f"{first.channels}: all recordings need the same number of channels",
                       odd.audio_path)
    samplerate = max(r.samplerate for r in recordings)
    rates = sorted({r.samplerate for r in recordings})
    if len(rates) > 1:
        message = (f"recordings have different sample rates ({', '.join(f'{r:g}' for r in rates)} "
                   f"Hz); resampling all to {samplerate:g} Hz")
        log.warning(message)
        warnings.append(message)
    for r in recordings:
        r.dataset_frames = math.ceil(r.frames * samplerate / r.samplerate - 1e-9)

    class_names, class_types = discover_classes(recordings)
    single_names = safe_file_names(class_names[1:]) if config.make_single_class_datasets else {}
    splits = {s: (getattr(config, f"{s}_split"), getattr(config, f"{s}_fraction"))
              for s in SPLIT_NAMES}
    plan = plan_splits({r.stem: r.dataset_frames for r in recordings}, splits, config.seed)
    lengths = plan.lengths()
    nb_channels, nb_classes = recordings[0].channels, len(class_names)

    temporary = store.with_name(f".{store.name}.partial-{secrets.token_hex(4)}")
    temporary.mkdir()
    try:
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for split in SPLIT_NAMES:
            shapes = {"x": (lengths[split], nb_channels), "y": (lengths[split], nb_classes)}
            shapes |= {f"y_{safe}": (lengths[split], 2) for safe in single_names.values()}
            arrays[split] = open_arrays(temporary / split, shapes)
        offsets = dict.fromkeys(SPLIT_NAMES, 0)
        emit(progress, "start", task="writing dataset", total=len(recordings))
        for number, recording in enumerate(recordings, start=1):
            check_stop(stop)
            x = _read(recording, samplerate)
            y = make_targets(recording.annotations, recording.dataset_frames, samplerate,
                             class_names, class_types, config.event_std_seconds,
                             config.gap_seconds)
            for split in SPLIT_NAMES:
                for stem, start, end in plan.pieces[split]:
                    if stem != recording.stem:
                        continue
                    at, n = offsets[split], end - start
                    arrays[split]["x"][at : at + n] = x[start:end]
                    arrays[split]["y"][at : at + n] = y[start:end]
                    for column, name in enumerate(class_names[1:], start=1):
                        if name in single_names:
                            arrays[split][f"y_{single_names[name]}"][at : at + n] = (
                                single_class_targets(y[start:end], column))
                    offsets[split] += n
            del x, y
            emit(progress, "step", task="writing dataset", current=number, total=len(recordings))
        for split_arrays in arrays.values():
            for array in split_arrays.values():
                array.flush()
        del arrays, split_arrays
        check_stop(stop)
        attrs = _attributes(config, data_folder, store, recordings, plan, samplerate,
                            class_names, class_types, single_names)
        write_attrs(temporary, attrs)
        _replace(temporary, store)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise

    counts = {name: 0 for name in class_names[1:]}
    for r in recordings:
        for name, n in r.annotations.df["name"].value_counts().items():
            if name in counts:
                counts[name] += int(n)
    summary = DatasetSummary(
        store_folder=os.fspath(store), class_names=class_names, class_types=class_types,
        class_counts=counts,
        seconds_per_split={s: lengths[s] / samplerate for s in SPLIT_NAMES},
        files_per_split={s: len({p[0] for p in plan.pieces[s]}) for s in SPLIT_NAMES},
        nb_files=len(recordings), samplerate=samplerate, nb_channels=nb_channels,
        seed=plan.seed, warnings=warnings)
    emit(progress, "done", task="writing dataset", message=f"wrote {store}",
         data={"store_folder": os.fspath(store)})
    log.info("wrote dataset %s", store)
    return summary


def _attributes(config: DatasetConfig, data_folder: Path, store: Path,
                recordings: list[Recording], plan, samplerate: float, class_names: list[str],
                class_types: list[str], single_names: dict[str, str]) -> dict[str, Any]:
    """DAS's attribute keys (spec 2.4) plus ``seed``, ``recording_pieces`` and our version."""
    pieces = plan.recording_pieces()
    attrs: dict[str, Any] = {
        "samplerate_x_Hz": float(samplerate),
        "samplerate_y_Hz": float(samplerate),
        "class_names": list(class_names),
        "class_types": list(class_types),
    }
    kind_of = dict(zip(class_names, class_types))
    for name, safe in single_names.items():
        attrs[f"class_names_{safe}"] = [NOISE, name]
        attrs[f"class_types_{safe}"] = ["segment", kind_of[name]]
    for split in SPLIT_NAMES:
        attrs[f"filename_{split}"] = [row[0] for row in pieces[split]]
        attrs[f"filename_startsample_{split}"] = [row[1] for row in pieces[split]]
        attrs[f"filename_endsample_{split}"] = [row[2] for row in pieces[split]]
    attrs |= {
        "event_std_seconds": float(config.event_std_seconds),
        "gap_seconds": float(config.gap_seconds),
        "data_folder": os.fspath(data_folder.resolve()),
        "store_folder": os.fspath(store.resolve()),
        "file_splits": {s: float(getattr(config, f"{s}_fraction")) for s in SPLIT_NAMES
                        if getattr(config, f"{s}_split") == "files"},
        "data_splits_fractions": {s: float(getattr(config, f"{s}_fraction")) for s in SPLIT_NAMES
                                  if getattr(config, f"{s}_split") == "samples"},
        "file_split_dict": dict(plan.file_split_dict),
        "data_splits": plan.data_splits,
        "make_single_class_datasets": bool(config.make_single_class_datasets),
        "split_in_two": False,
        "delete_intermediate_store": True,
        "seed": int(plan.seed),
        "recording_pieces": pieces,
        "single_class_file_names": dict(single_names),
        "recordings": [{"stem": r.stem, "audio": r.audio_path.name,
                        "samplerate_Hz": r.samplerate, "frames": r.frames,
                        "dataset_frames": r.dataset_frames} for r in recordings],
        "napari_das_version": __version__,
    }
    return attrs
