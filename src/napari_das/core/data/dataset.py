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

from ... import __version__
from ..config import DatasetConfig
from ..errors import DasError
from ..io import audio
from ..io.annotations import ANNOTATIONS_SUFFIX, Annotations
from ..io.store import ATTRS_NPY, load_dataset, open_arrays, write_attrs  # noqa: F401 (re-export)
from ..progress import check_stop, emit
from .splits import SPLIT_NAMES, plan_splits
from .targets import make_targets, safe_file_names, single_class_targets

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


def check_times(recording: Recording) -> str | None:
    """Clip annotations to the recording (DAS's export writes rows past its ends, spec 9.2).

    Rows partly outside are clipped, rows entirely outside dropped; returns the one-line report
    for the file (also logged as a warning), or None when every row was inside.
    """
    duration = recording.frames / recording.samplerate
    clipped, nb_clipped, nb_dropped = recording.annotations.clipped(duration)
    if not nb_clipped and not nb_dropped:
        return None
    recording.annotations = clipped
    message = (f"{recording.annotations_path}: {nb_clipped} annotation(s) clipped to the "
               f"recording (0-{duration:g} s), {nb_dropped} outside it dropped")
    log.warning(message)
    return message


def inspect_recordings(pairs: list[tuple[Path, Path]], progress=None, stop=None,
                       warnings: list[str] | None = None) -> list[Recording]:
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
        report = check_times(recording)
        if report and warnings is not None:
            warnings.append(report)
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


_STRENGTH = {"definitions": 3, "rows": 2, "placeholder": 1}


#: Peak above which a recording is in integer scale (int16 PCM stored raw in .npz/.h5).
INTEGER_SCALE_PEAK = 2.0


def check_scales(peaks: dict[str, float]) -> None:
    """Refuse a dataset mixing recordings in [-1, 1] with recordings in integer scale.

    DAS scales WAV integer PCM to [-1, 1) but stores ``.npz``/``.h5`` values as they are, so an
    int16 export next to WAV files differs by a factor 32768 (spec 1.1).
    """
    unit = sorted(name for name, peak in peaks.items() if 0 < peak <= 1.0)
    integer = sorted(name for name, peak in peaks.items() if peak > INTEGER_SCALE_PEAK)
    if unit and integer:
        def few(names: list[str]) -> str:
            return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

        raise DasError(f"mixed audio scales: {few(integer)} peak(s) above {INTEGER_SCALE_PEAK:g} "
                       f"(integer scale, e.g. int16 in .npz) but {few(unit)} within [-1, 1]; "
                       "divide the integer-scale files by 32768 (or export all recordings the "
                       "same way) and make the dataset again")


def discover_classes(recordings: list[Recording]) -> tuple[list[str], list[str]]:
    """``noise`` first, then every song type sorted by name (spec 2.1).

    A type's category is decided over all files, by the strongest evidence: definitions files,
    then real rows (a segment if any file has a row with a duration), then NaN placeholder rows
    (which DAS's predict writes as ``NaN,0`` even for event types).  File order never matters.
    """
    votes: dict[str, dict[str, set[str]]] = {}
    for recording in recordings:
        ann = recording.annotations
        for name, category in ann.categories.items():
            if name == NOISE:
                log.warning("%s: song type 'noise' is the background class and is ignored",
                            recording.annotations_path)
                continue
            kind = ann.evidence.get(name, "rows")
            votes.setdefault(name, {}).setdefault(kind, set()).add(category)
    if not votes:
        raise DasError("none of the annotation files names a song type; annotate some song "
                       "first", recordings[0].annotations_path.parent)
    categories = {}
    for name, by_kind in votes.items():
        kind = max(by_kind, key=lambda k: _STRENGTH.get(k, 0))
        found = by_kind[kind]
        if kind == "placeholder":  # NaN,NaN only comes from event types
            categories[name] = "event" if "event" in found else "segment"
        else:
            categories[name] = "segment" if "segment" in found else "event"
        if len(found) > 1:
            log.warning("song type %r is an event in some files and a segment in others "
                        "(%s); using %s", name, kind, categories[name])
    names = sorted(categories)
    return [NOISE] + names, ["segment"] + [categories[n] for n in names]


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
    recordings = inspect_recordings(pairs, progress, stop, warnings)

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
        peaks: dict[str, float] = {}
        emit(progress, "start", task="writing dataset", total=len(recordings))
        for number, recording in enumerate(recordings, start=1):
            check_stop(stop)
            x = _read(recording, samplerate)
            peaks[recording.audio_path.name] = float(np.max(np.abs(x))) if x.size else 0.0
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
        check_scales(peaks)
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
