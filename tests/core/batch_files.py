"""A tiny model and a folder of short synthetic fly-song recordings for the batch tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FS = 10000.0
NAMES, TYPES = ["noise", "pulse", "sine"], ["segment", "event", "segment"]
#: post-processing that finds events and segments even with an untrained network
LOW = ["--event-thres", "0.3", "--segment-thres", "0.3"]


def tiny_model(folder: Path, seed: int = 0) -> str:
    """An untrained 4-filter TCN saved as ``folder/m`` (weights drawn with ``seed``)."""
    import keras

    from napari_das.core.config import NetworkConfig
    from napari_das.core.io.params import save_params
    from napari_das.core.nn.model import build_model

    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    net = NetworkConfig(nb_hist=64, nb_filters=4, kernel_size=3, nb_conv=1, dilations=[1, 2])
    build_model(net, 1, 3, compile=False).save(folder / "m_model.keras")
    save_params(folder / "m_params.yaml", dict(net.to_dict(), class_names=NAMES,
                                               class_types=TYPES, samplerate_x_Hz=FS,
                                               nb_channels=1))
    return str(folder / "m")


def song_folder(folder: Path, n: int = 6, duration: float = 20.0, sub: int = 2) -> list[Path]:
    """``n`` recordings of synthetic fly song; the last ``sub`` in ``folder/day2``."""
    from napari_das.core.data.synth import make_fly_song
    from napari_das.core.io import audio

    paths = []
    for i in range(n):
        x, _ = make_fly_song(duration=duration, samplerate=int(FS), seed=i)
        path = folder / ("day2" if i >= n - sub else "") / f"r{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        audio.write(path, x, FS)
        paths.append(path)
    return paths


def output_bytes(folder: Path) -> dict[str, bytes]:
    """Every output file below ``folder`` (not the run manifest), by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "predict_run.csv"}


def manifest_rows(folder: Path) -> list[dict[str, str]]:
    import csv

    with open(folder / "predict_run.csv", newline="") as file:
        return list(csv.DictReader(file))


def staged_leftovers(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob(".*") if p.is_file()]


def noise(rng, frames: int) -> np.ndarray:
    return (0.1 * rng.normal(size=(frames, 1))).astype(np.float32)
