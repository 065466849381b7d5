"""A deterministic generator of fly-like courtship song, with exact annotations.

The song consists of *bouts* (0.4-3 s apart) of 1-5 *elements* (20-100 ms apart).  Each element
is either

- a **pulse train**: 4-20 Gabor pulses (Gaussian envelope with a FWHM of 2-3 ms times a cosine
  carrier of 250-400 Hz), 35-40 ms apart with a little jitter; every pulse centre is annotated as
  an event ``pulse``; or
- **sine song**: a 140-160 Hz tone with slow frequency modulation, 100-800 ms long with 10 ms
  raised-cosine ramps, annotated as a segment ``sine`` from its first to its last non-zero sample.

The gaps between bouts hold unannotated distractors (band-limited noise bursts and clicks), and
white noise of standard deviation ``noise_std`` lies under everything.  Each bout draws its SNR
from ``snr_db``, defined for a carrier of amplitude ``A`` as ``20 * log10((A / sqrt(2)) / noise_std)``.

The same arguments always give the same bytes.

>>> data, ann = make_fly_song(duration=5.0, samplerate=10000, seed=1)
>>> data.shape, data.dtype, sorted(ann.categories.items())
((50000, 1), dtype('float32'), [('pulse', 'event'), ('sine', 'segment')])
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DasError
from ..io import audio
from ..io.annotations import ANNOTATIONS_SUFFIX, Annotations

log = logging.getLogger(__name__)

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
EDGE_SECONDS = 0.05  # keep song this far from the start and the end of the recording


def make_fly_song(
    duration: float = 60.0,
    samplerate: float = 10000,
    seed: int = 0,
    snr_db: float | tuple[float, float] = (0, 15),
    noise_std: float = 0.01,
    pulse_probability: float = 0.5,
    distractors: bool = True,
) -> tuple[np.ndarray, Annotations]:
    """Synthesise fly-like courtship song in noise.

    Parameters
    ----------
    duration : float
        Length in seconds.
    samplerate : float
        Sample rate in Hz (at least 1000, so the carriers fit below Nyquist).
    seed : int
        Seed of the random generator; equal arguments give identical output.
    snr_db : float or (float, float)
        SNR in dB of every bout, or the range each bout's SNR is drawn from uniformly.
        Distractors use the same range.
    noise_std : float
        Standard deviation of the white background noise.
    pulse_probability : float
        Chance that an element is a pulse train rather than sine song.
    distractors : bool
        Put unannotated noise bursts and clicks into the gaps between bouts.

    Returns
    -------
    data : np.ndarray
        float32 ``[frames, 1]``.
    annotations : Annotations
        Events ``pulse`` (pulse centres) and segments ``sine``.
    """
    if samplerate < 1000:
        raise ValueError(f"samplerate must be at least 1000 Hz, got {samplerate}")
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    snr_range = (float(snr_db), float(snr_db)) if np.isscalar(snr_db) else tuple(map(float, snr_db))
    if len(snr_range) != 2 or snr_range[0] > snr_range[1]:
        raise ValueError(f"snr_db must be a number or a (low, high) range, got {snr_db}")

    rng = np.random.default_rng(seed)
    frames = int(round(duration * samplerate))
    song = np.zeros(frames, np.float64)
    pulses: list[float] = []
    sine_on: list[float] = []
    sine_off: list[float] = []
    end = frames / samplerate - EDGE_SECONDS

    cursor = EDGE_SECONDS + rng.uniform(0.0, 0.5)
    while cursor < end:
        amplitude = _amplitude(rng.uniform(*snr_range), noise_std)
        for _element in range(int(rng.integers(1, 6))):
            if rng.random() < pulse_probability:
                stop = _add_pulse_train(song, samplerate, cursor, amplitude, rng, end, pulses)
            else:
                stop = _add_sine(song, samplerate, cursor, amplitude, rng, end, sine_on, sine_off)
            if stop is None:  # the element would run past the end
                break
            cursor = stop + rng.uniform(0.020, 0.100)
        gap = rng.uniform(0.4, 3.0)
        if distractors:
            _add_distractors(
                song, samplerate, cursor, min(cursor + gap - 0.1, end), snr_range, noise_std, rng
            )
        cursor += gap

    song += rng.standard_normal(frames) * noise_std
    annotations = Annotations.from_events_segments({"pulse": pulses}, {"sine": (sine_on, sine_off)})
    return song.astype(np.float32)[:, np.newaxis], annotations


def write_fly_song_folder(
    folder: str | os.PathLike,
    nfiles: int = 4,
    duration: float = 30.0,
    seed: int = 0,
    fmt: str = "npz",
    prefix: str = "flysong",
    overwrite: bool = False,
    samplerate: float = 10000,
    **kwargs: Any,
) -> list[Path]:
    """Write ``nfiles`` synthetic recordings and their annotations into ``folder``.

    Files are ``<prefix>_<i:03d>.<fmt>`` and ``<prefix>_<i:03d>_annotations.csv``; file ``i`` uses
    a seed derived from ``(seed, i)``, so the folder is reproducible.

    Parameters
    ----------
    folder : str or os.PathLike
        Created if missing.
    nfiles, duration, seed : int, float, int
        Number of files, seconds per file, base seed.
    fmt : str
        ``"npz"`` or ``"wav"`` (any suffix of :data:`~napari_das.core.io.audio.AUDIO_SUFFIXES`
        works; lossy ``"ogg"`` is refused).
    prefix : str
        File name prefix.
    overwrite : bool
        Replace existing files; otherwise any existing target raises :class:`DasError` before
        anything is written.
    **kwargs
        Passed to :func:`make_fly_song` (``snr_db``, ``noise_std``, ...).

    Returns
    -------
    list of Path
        The audio files, in order (annotations sit next to them).
    """
    fmt = fmt.lower().lstrip(".")
    if f".{fmt}" not in audio.AUDIO_SUFFIXES or fmt == "ogg":
        raise DasError(f"unsupported format {fmt!r}; use npz or wav")
    folder = Path(folder)
    stems = [folder / f"{prefix}_{index:03d}" for index in range(int(nfiles))]
    targets = [
        (stem.with_name(stem.name + f".{fmt}"), stem.with_name(stem.name + ANNOTATIONS_SUFFIX))
        for stem in stems
    ]
    if not overwrite:
        existing = [path for pair in targets for path in pair if path.exists()]
        if existing:
            raise DasError(
                "file exists (and maybe others); pick an empty folder or allow overwriting",
                existing[0],
            )
    folder.mkdir(parents=True, exist_ok=True)
    for index, (audio_path, annotations_path) in enumerate(targets):
        file_seed = int(np.random.SeedSequence([int(seed), index]).generate_state(1)[0])
        data, annotations = make_fly_song(duration, samplerate, seed=file_seed, **kwargs)
        audio.write(audio_path, data, samplerate, overwrite=overwrite)
        annotations.to_file(annotations_path, overwrite=overwrite)
        log.info(
            "wrote %s (%d pulses, %d sine segments)",
            audio_path,
            len(annotations.events("pulse")),
            len(annotations.segments("sine")[0]),
        )
    return [audio_path for audio_path, _ in targets]


# -------------------------------------------------------------------------------------------
# song elements; each adds itself to ``song`` and returns its end time (None if it does not fit)


def _amplitude(snr_db: float, noise_std: float) -> float:
    """Carrier amplitude whose RMS (A / sqrt 2) is ``snr_db`` above ``noise_std``."""
    return float(np.sqrt(2.0) * noise_std * 10.0 ** (snr_db / 20.0))


def _add_pulse_train(
    song: np.ndarray,
    fs: float,
    start: float,
    amplitude: float,
    rng: np.random.Generator,
    end: float,
    pulses: list[float],
) -> float | None:
    count = int(rng.integers(4, 21))
    interval = rng.uniform(0.035, 0.040)
    carrier = rng.uniform(250.0, 400.0)
    sigma = rng.uniform(0.002, 0.003) * FWHM_TO_SIGMA
    half_width = 4.0 * sigma
    jitter = np.clip(rng.normal(0.0, 0.001, count), -0.003, 0.003)
    jitter[0] = 0.0
    centres = start + half_width + interval * np.arange(count) + jitter
    phases = rng.uniform(0, 2 * np.pi, count)
    if centres[-1] + half_width > end:
        return None
    for centre, phase in zip(centres, phases):
        index = np.arange(
            int(np.ceil((centre - half_width) * fs)), int(np.floor((centre + half_width) * fs)) + 1
        )
        offset = index / fs - centre
        song[index] += (
            amplitude
            * np.exp(-0.5 * (offset / sigma) ** 2)
            * np.cos(2 * np.pi * carrier * offset + phase)
        )
    pulses.extend(centres.tolist())
    return float(centres[-1] + half_width)


def _add_sine(
    song: np.ndarray,
    fs: float,
    start: float,
    amplitude: float,
    rng: np.random.Generator,
    end: float,
    onsets: list[float],
    offsets: list[float],
) -> float | None:
    length = rng.uniform(0.100, 0.800)
    first = int(np.ceil(start * fs))
    last = first + int(round(length * fs))  # inclusive
    if last / fs > end:
        return None
    index = np.arange(first, last + 1)
    seconds = (index - first) / fs
    base, depth = rng.uniform(140.0, 160.0), rng.uniform(2.0, 8.0)
    rate, modulation_phase = rng.uniform(1.0, 4.0), rng.uniform(0, 2 * np.pi)
    frequency = base + depth * np.sin(2 * np.pi * rate * seconds + modulation_phase)
    phase = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(frequency) / fs
    ramp = np.ones(len(index))
    ramp_frames = min(int(round(0.010 * fs)), len(index) // 2)
    rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp_frames) + 1) / (ramp_frames + 1))
    ramp[:ramp_frames] = rise
    ramp[len(index) - ramp_frames :] = rise[::-1]
    song[index] += amplitude * ramp * np.sin(phase)
    onsets.append(first / fs)
    offsets.append(last / fs)
    return last / fs


def _add_distractors(
    song: np.ndarray,
    fs: float,
    start: float,
    stop: float,
    snr_range: tuple[float, float],
    noise_std: float,
    rng: np.random.Generator,
) -> None:
    """Noise bursts and click clusters between ``start + 0.1`` and ``stop`` seconds."""
    start += 0.1
    for _ in range(int(rng.integers(0, 3))):
        length = rng.uniform(0.020, 0.200)
        if stop - start <= length:
            return
        onset = rng.uniform(start, stop - length)
        first, count = int(onset * fs), int(length * fs)
        amplitude = _amplitude(rng.uniform(*snr_range), noise_std)
        if rng.random() < 0.5:
            song[first : first + count] += amplitude * _band_noise(count, fs, rng)
        else:
            for _click in range(int(rng.integers(1, 6))):
                at = first + int(rng.integers(0, count))
                decay = np.exp(-np.arange(int(0.002 * fs)) / (0.0003 * fs))
                piece = song[at : at + len(decay)]
                piece += amplitude * rng.choice([-1.0, 1.0]) * decay[: len(piece)]


def _band_noise(count: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise limited to a random band, with 5 ms ramps."""
    low = rng.uniform(80.0, min(1500.0, 0.3 * fs))
    high = min(low + rng.uniform(100.0, 1000.0), 0.45 * fs)
    spectrum = np.fft.rfft(rng.standard_normal(count))
    frequencies = np.fft.rfftfreq(count, 1 / fs)
    spectrum[(frequencies < low) | (frequencies > high)] = 0
    noise = np.fft.irfft(spectrum, count)
    noise /= max(float(np.sqrt(np.mean(noise**2))), 1e-12)
    ramp = min(int(0.005 * fs), count // 2)
    if ramp:
        window = np.linspace(0, 1, ramp)
        noise[:ramp] *= window
        noise[count - ramp :] *= window[::-1]
    return noise / np.sqrt(2)  # same RMS as a carrier of amplitude 1
