"""napari readers: recordings as spectrogram images, ``*_annotations.csv`` as shapes/points.

Both ``get_*_reader`` functions are cheap probes that return ``None`` (never raise) for files
that are not ours.  For a file that looks like ours but cannot be read, the reader they return
shows our one-line :class:`~napari_das.core.errors.DasError` message as a napari notification
and adds nothing (napari would otherwise show its generic "Tried to read ..." message with ours
hidden behind "View traceback"); :func:`read_audio` and :func:`read_annotations` themselves raise.

World coordinates are shared by every napari-das layer (see :mod:`napari_das._napari.layers`):
``x`` = time in seconds, ``y`` = ``-frequency`` in kHz (so low frequencies are at the bottom).
"""

from __future__ import annotations

import functools
import logging
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.data.spectrogram import SpectrogramGeometry, contrast_limits
from ..core.errors import DasError
from ..core.io import audio
from .lazy_spectrogram import AudioWindows, spectrogram_levels
from .time_view import attach_to_current_viewer
from .world import hz_to_world_y

log = logging.getLogger(__name__)

AUDIO_READER_SUFFIXES = (".wav", ".flac", ".ogg", ".npz")
ANNOTATIONS_SUFFIX = "_annotations.csv"  # as core.io.annotations (imported lazily: pandas)
LayerDataTuple = tuple[Any, dict, str]
PathOrPaths = str | os.PathLike | Sequence[str | os.PathLike]


def _single_paths(path: PathOrPaths) -> list[str] | None:
    if isinstance(path, (str, os.PathLike)):
        return [os.fspath(path)]
    if isinstance(path, Sequence) and path and all(isinstance(p, (str, os.PathLike)) for p in path):
        return [os.fspath(p) for p in path]
    return None


def _looks_like_audio(path: str) -> bool:
    suffix = Path(path).suffix.lower()
    if suffix not in AUDIO_READER_SUFFIXES or not os.path.isfile(path):
        return False
    if suffix != ".npz":
        return True
    try:  # an npz is ours only if it holds data + samplerate
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return {"data.npy", "samplerate.npy"} <= names


def _reporting(read: Callable[[PathOrPaths], list[LayerDataTuple]]):
    """``read`` for napari: a DasError becomes a notification and napari's empty-file result."""

    @functools.wraps(read)
    def reader(path: PathOrPaths) -> list:
        try:
            layers = read(path)
        except DasError as err:
            from napari.utils.notifications import show_error

            show_error(str(err))
            return [(None,)]  # napari's sentinel for "nothing to add", without an error
        attach_to_current_viewer()  # zoom in time only (the layers go to the current viewer)
        return layers

    return reader


def get_audio_reader(path: PathOrPaths) -> Callable[[PathOrPaths], list[LayerDataTuple]] | None:
    """Reader for ``.wav``/``.flac``/``.ogg`` and ``.npz`` (with ``data`` + ``samplerate``)."""
    try:
        paths = _single_paths(path)
        if paths and all(_looks_like_audio(p) for p in paths):
            return _reporting(read_audio)
    except Exception:  # a probe must never raise  # noqa: BLE001
        log.debug("audio probe failed for %r", path, exc_info=True)
    return None


def get_annotations_reader(
    path: PathOrPaths,
) -> Callable[[PathOrPaths], list[LayerDataTuple]] | None:
    """Reader for DAS ``*_annotations.csv`` files."""
    try:
        paths = _single_paths(path)
        if paths and all(p.endswith(ANNOTATIONS_SUFFIX) and os.path.isfile(p) for p in paths):
            # (the suffix is core.io.annotations.ANNOTATIONS_SUFFIX; pandas loads on reading)
            return _reporting(read_annotations)
    except Exception:  # noqa: BLE001
        log.debug("annotations probe failed for %r", path, exc_info=True)
    return None


def read_audio(path: PathOrPaths) -> list[LayerDataTuple]:
    """Spectrogram image layer(s) of one or more recordings (one layer per channel)."""
    layers: list[LayerDataTuple] = []
    for single in _single_paths(path) or []:
        layers += spectrogram_layers(single)
    return layers


def read_annotations(path: PathOrPaths) -> list[LayerDataTuple]:
    """Shapes (segments) and points (events) layers of one or more annotation files."""
    from ..core.io.annotations import Annotations  # pandas: only when annotations are read
    from .layers import annotations_to_layers

    layers: list[LayerDataTuple] = []
    for single in _single_paths(path) or []:
        annotations = Annotations.from_file(single)
        stem = Path(single).name[: -len(ANNOTATIONS_SUFFIX)]
        fmax = _sibling_nyquist(Path(single).with_name(stem))
        for data, kwargs, layer_type in annotations_to_layers(
            annotations, freq_range=(0.0, fmax), name=stem
        ):
            kwargs["metadata"]["das"]["annotations_path"] = single
            layers.append((data, kwargs, layer_type))
    return layers


#: Frequency range (Hz) of annotation rectangles when no recording sits next to the CSV file.
DEFAULT_FMAX_HZ = 5000.0


def _sibling_nyquist(stem_path: Path) -> float:
    for suffix in audio.AUDIO_SUFFIXES:
        candidate = stem_path.with_name(stem_path.name + suffix)
        if candidate.is_file():
            try:
                return audio.info(candidate).samplerate / 2
            except DasError:
                continue
    return DEFAULT_FMAX_HZ


def spectrogram_layers(
    source: str | os.PathLike | Any,
    samplerate: float | None = None,
    name: str | None = None,
    nfft: int | None = None,
    hop: int | None = None,
) -> list[LayerDataTuple]:
    """Image layer data for the spectrogram of every channel of a recording.

    Parameters
    ----------
    source : path or np.ndarray
        An audio file (any of :data:`napari_das.core.io.audio.AUDIO_SUFFIXES`) or in-memory
        audio ``[T]``/``[T, C]`` (then ``samplerate`` is required).
    name : str, optional
        Layer name (default: the file stem); channels get `` ch<k>`` appended.
    nfft, hop : int, optional
        STFT window and column spacing (defaults of
        :meth:`~napari_das.core.data.spectrogram.SpectrogramGeometry.for_recording`).

    Returns
    -------
    list of (data, kwargs, "image")
        ``data`` is a multiscale list of lazy :class:`SpectrogramLevel` arrays (or one level for
        short recordings); ``kwargs["metadata"]["das"]`` holds ``recording`` (the name,
        shared by the channels and the recording's annotation layers), ``path``, ``samplerate``,
        ``channels``, ``channel``, ``duration``, ``frames``, ``nfft``, ``hop``.
    """
    windows = AudioWindows(source, samplerate)
    if windows.frames == 0:
        raise DasError("the recording has no samples; nothing to show", windows.path)
    geometry = SpectrogramGeometry.for_recording(windows.samplerate, windows.frames, nfft, hop)
    if name is None:
        name = Path(windows.path).stem if windows.path else "recording"
    layers = []
    for channel in range(windows.channels):
        levels = spectrogram_levels(windows, channel, geometry)
        limits = contrast_limits(levels[-1][:, :])
        kwargs = {
            "name": name if windows.channels == 1 else f"{name} ch{channel}",
            "scale": (hz_to_world_y(geometry.freq_step), geometry.time_step),
            "translate": (0.0, 0.0),
            "multiscale": len(levels) > 1,
            "contrast_limits": limits,
            "colormap": "magma",
            "axis_labels": ("frequency (kHz, negated)", "time (s)"),
            "units": ("s", "s"),  # world x is seconds: the scale bar says "125 ms"
            "metadata": {
                "das": {
                    "kind": "spectrogram",
                    "recording": name,
                    "path": windows.path,
                    "samplerate": windows.samplerate,
                    "channels": windows.channels,
                    "channel": channel,
                    "frames": windows.frames,
                    "duration": windows.frames / windows.samplerate,
                    "nfft": geometry.nfft,
                    "hop": geometry.hop,
                }
            },
        }
        layers.append((levels if len(levels) > 1 else levels[0], kwargs, "image"))
    return layers
