"""napari sample data: a synthetic fly song and a real Bengalese finch song, with annotations.

Both return a spectrogram image layer plus the annotation layers (world coordinates as in
:mod:`napari_das._napari.layers`).  The spectrogram's metadata points at a real audio file so the
widgets can train/predict on it: the packaged finch WAV, and for the fly song a copy written once to
``<tempdir>/napari-das-samples/`` (the song is deterministic, so the copy is reused).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from ..core.data.synth import make_fly_song
from ..core.io import audio
from ..core.io.annotations import Annotations
from .layers import annotations_to_layers
from .reader import read_annotations, read_audio
from .time_view import attach_to_current_viewer

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
FINCH_STEM = "gy6or6_baseline_230312_0821.202"
FLY_SONG_SECONDS = 20.0
FLY_SONG_SAMPLERATE = 10000
FLY_SONG_SEED = 0

LayerDataTuple = tuple[Any, dict, str]


def fly_song_path(folder: str | os.PathLike | None = None) -> Path:
    """Write the synthetic fly song (``fly_song.npz`` + annotations) once and return its path."""
    folder = Path(folder) if folder else Path(tempfile.gettempdir()) / "napari-das-samples"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fly_song_{int(FLY_SONG_SECONDS)}s_seed{FLY_SONG_SEED}.npz"
    annotations_path = path.with_name(path.stem + "_annotations.csv")
    if not (path.is_file() and annotations_path.is_file()):
        data, annotations = make_fly_song(
            duration=FLY_SONG_SECONDS, samplerate=FLY_SONG_SAMPLERATE, seed=FLY_SONG_SEED
        )
        audio.write(path, data, FLY_SONG_SAMPLERATE, overwrite=True)
        annotations.to_file(annotations_path, overwrite=True)
    return path


def synthetic_fly_song() -> list[LayerDataTuple]:
    """20 s of synthetic fly song (pulse events, sine segments) with its annotations."""
    path = fly_song_path()
    _, annotations = make_fly_song(
        duration=FLY_SONG_SECONDS, samplerate=FLY_SONG_SAMPLERATE, seed=FLY_SONG_SEED
    )
    layers = read_audio(str(path))
    layers += annotations_to_layers(
        annotations, freq_range=(0.0, FLY_SONG_SAMPLERATE / 2), name="fly_song"
    )
    for _, kwargs, layer_type in layers:
        if layer_type == "image":
            kwargs["name"] = "fly_song"
        kwargs["metadata"]["das"]["sample"] = "fly_song"
        kwargs["metadata"]["das"]["recording"] = "fly_song"
    attach_to_current_viewer()
    return layers


def bengalese_finch_song() -> list[LayerDataTuple]:
    """One real Bengalese finch song (bird gy6or6, CC BY 4.0, see data/README.md)."""
    wav = DATA_DIR / f"{FINCH_STEM}.wav"
    layers = read_audio(str(wav)) + read_annotations(str(DATA_DIR / f"{FINCH_STEM}_annotations.csv"))
    for _, kwargs, _ in layers:
        kwargs["metadata"]["das"]["sample"] = "bengalese_finch"
    attach_to_current_viewer()
    return layers


def finch_annotations() -> Annotations:
    """The annotations of the packaged finch song."""
    return Annotations.from_file(DATA_DIR / f"{FINCH_STEM}_annotations.csv")
