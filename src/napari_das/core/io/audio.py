"""Reading, probing, streaming, writing and resampling audio.

Every function returns audio as float32 ``[frames, channels]`` plus a float sample rate in Hz.

Formats (spec 1.1):

- ``.wav``, ``.flac``, ``.ogg`` through soundfile; integer PCM is scaled to [-1, 1).
- ``.npz`` with keys ``data`` (``[T]`` or ``[T, C]``) and ``samplerate`` (scalar or 1-element
  array); values are returned as stored (no scaling), converted to float32.
- ``.h5`` with dataset ``data`` and file attribute ``samplerate``; raw values, no scaling.

Only the requested frame range is read where the format allows it (soundfile seeking, HDF5
slicing, seeking inside an uncompressed ``.npz`` member), so hours of audio can be streamed with
:func:`iter_blocks`.  Every problem the user can fix raises :class:`~napari_das.core.errors.DasError`
naming the file.

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> path = write(os.path.join(folder, "tone.npz"), np.zeros((100, 2)), 1000)
>>> info(path).frames, info(path).channels, info(path).duration
(100, 2, 0.1)
>>> data, fs = read(path, start=10, stop=30)
>>> data.shape, data.dtype, fs
((20, 2), dtype('float32'), 1000.0)
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import DasError
from .audio_formats import AUDIO_SUFFIXES as AUDIO_SUFFIXES  # public here: the suffixes we read
from .audio_formats import checked_samplerate, checked_suffix, open_source
from .files import sibling_temp_file

log = logging.getLogger(__name__)


#: soundfile subtype used by :func:`write` for each suffix.
_WRITE_SUBTYPES = {".wav": "FLOAT", ".flac": "PCM_24", ".ogg": "VORBIS"}
_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`info` learns about an audio file without reading the samples."""

    path: str
    samplerate: float
    frames: int
    channels: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.samplerate


def _frame_range(start: int, stop: int | None, frames: int, path: Path) -> tuple[int, int]:
    start = int(start)
    stop = frames if stop is None else int(stop)
    if start < 0 or stop < start:
        raise DasError(f"invalid frame range [{start}, {stop}); use 0 <= start <= stop", path)
    return min(start, frames), min(stop, frames)


# --------------------------------------------------------------------------------------------
# public API


def info(path: str | os.PathLike) -> AudioInfo:
    """Probe an audio file without reading its samples.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file with one of :data:`AUDIO_SUFFIXES`.

    Returns
    -------
    AudioInfo
        Sample rate (Hz), number of frames and channels.

    Raises
    ------
    DasError
        If the file is missing, unreadable, truncated (WAV), or an npz/h5 file lacks
        ``data``/``samplerate``, or the sample rate is not positive.
    """
    with open_source(path) as source:
        return AudioInfo(os.fspath(path), source.samplerate, source.frames, source.channels)


def read(
    path: str | os.PathLike, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, float]:
    """Read frames ``[start, stop)`` of an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file with one of :data:`AUDIO_SUFFIXES`.
    start, stop : int
        Frame range (``stop=None``: to the end); a range past the end is clipped.

    Returns
    -------
    data : np.ndarray
        float32 ``[frames, channels]``. WAV/FLAC/OGG integer PCM is scaled to [-1, 1);
        npz/h5 values are returned as stored.
    samplerate : float
        Sample rate in Hz.
    """
    with open_source(path) as source:
        first, last = _frame_range(start, stop, source.frames, Path(path))
        return source.read_range(first, last), source.samplerate


def iter_blocks(
    path: str | os.PathLike, block_frames: int, overlap: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """Stream an audio file in blocks without loading it whole.

    Block ``i`` covers frames ``[i * step, i * step + block_frames)`` with
    ``step = block_frames - overlap``, so consecutive blocks share ``overlap`` frames.  The last
    block is shorter if the file ends; iteration stops after the block that reaches the end.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file with one of :data:`AUDIO_SUFFIXES`.
    block_frames : int
        Frames per block (> 0).
    overlap : int
        Frames shared by consecutive blocks (``0 <= overlap < block_frames``).

    Yields
    ------
    start_frame : int
        Index of the block's first frame in the file.
    data : np.ndarray
        float32 ``[frames, channels]``.
    """
    block_frames, overlap = int(block_frames), int(overlap)
    if block_frames <= 0 or not 0 <= overlap < block_frames:
        raise ValueError(
            f"need block_frames > 0 and 0 <= overlap < block_frames, got {block_frames}, {overlap}"
        )
    step = block_frames - overlap
    with open_source(path) as source:
        start = 0
        kept = np.zeros((0, source.channels), np.float32)  # overlap carried from the last block
        while True:
            stop = min(start + block_frames, source.frames)
            fresh = source.read_range(start + len(kept), stop)
            block = np.concatenate([kept, fresh]) if len(kept) else fresh
            yield start, block
            if stop >= source.frames:
                return
            kept = block[step:]
            start += step


class SequentialReader(contextlib.AbstractContextManager):
    """Random-access reads of one audio file, kept open, cheap when the requests move forward.

    ``reader(a, b)`` returns frames ``[a, b)`` (clipped to the file) like :func:`read`, but
    the file is opened once (not per request) and the frames of the last request are kept, so
    requests that overlap the previous one (window margins, filter context) read only their
    new frames.  Requests whose start moves forward cost linear time in every format, also
    compressed and column-major ``.npz`` (their member is decompressed as one forward
    stream); a request starting before the kept frames reads the file again at that point.

    The returned arrays may be shared with the cache: they are read-only.

    >>> import tempfile, os
    >>> path = write(os.path.join(tempfile.mkdtemp(), "ramp.npz"), np.arange(10.0), 1000)
    >>> with SequentialReader(path) as reader:
    ...     reader(2, 5)[:, 0].tolist(), reader(4, 8)[:, 0].tolist(), reader.frames
    ([2.0, 3.0, 4.0], [4.0, 5.0, 6.0, 7.0], 10)
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._source = open_source(path)
        self.frames = int(self._source.frames)
        self.channels = int(self._source.channels)
        self.samplerate = float(self._source.samplerate)
        self._start = 0
        self._kept = np.zeros((0, self.channels), np.float32)

    @property
    def info(self) -> AudioInfo:
        """The file's :class:`AudioInfo`."""
        return AudioInfo(os.fspath(self.path), self.samplerate, self.frames, self.channels)

    def __call__(self, start: int, stop: int) -> np.ndarray:
        start, stop = _frame_range(start, stop, self.frames, self.path)
        kept_stop = self._start + len(self._kept)
        if self._start <= start and stop <= kept_stop:
            return self._kept[start - self._start: stop - self._start]
        if self._start <= start <= kept_stop:  # continue forward from the kept frames
            fresh = self._source.read_range(kept_stop, stop)
            block = np.concatenate([self._kept[start - self._start:], fresh])
        else:
            block = self._source.read_range(start, stop)
        block.setflags(write=False)
        self._start, self._kept = start, block
        return block

    def __exit__(self, *exc_info: object) -> None:
        self._kept = np.zeros((0, self.channels), np.float32)
        self._source.__exit__(*exc_info)


def write(
    path: str | os.PathLike,
    data: np.ndarray,
    samplerate: float,
    overwrite: bool = False,
) -> Path:
    """Write audio atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : str or os.PathLike
        Target file; the suffix picks the format: ``.npz`` (``data`` + ``samplerate``, values
        stored as given), ``.h5`` (dataset ``data`` + attribute ``samplerate``), ``.wav``
        (float32), ``.flac`` (PCM_24, values clipped to [-1, 1]), ``.ogg`` (Vorbis).
    data : np.ndarray
        ``[frames]`` or ``[frames, channels]``.
    samplerate : float
        Sample rate in Hz (> 0).
    overwrite : bool
        Replace an existing file; without it an existing file raises :class:`DasError`.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    suffix = checked_suffix(path, "cannot write audio as")
    if path.exists() and not overwrite:
        raise DasError("file exists; choose another name or allow overwriting", path)
    rate = checked_samplerate(samplerate, path)
    data = np.asarray(data)
    if data.ndim not in (1, 2) or data.dtype.kind not in "biuf":
        raise DasError(
            f"audio must be numeric [samples] or [samples, channels], got shape "
            f"{data.shape} of {data.dtype}",
            path,
        )
    if not path.parent.is_dir():
        raise DasError("the folder does not exist; create it first", path.parent)

    handle, temp_name = sibling_temp_file(path)
    os.close(handle)
    try:
        if suffix == ".npz":
            with open(temp_name, "wb") as file:
                np.savez(file, data=data, samplerate=np.float64(rate))
        elif suffix == ".h5":
            import h5py

            with h5py.File(temp_name, "w") as file:
                file.create_dataset("data", data=data)
                file.attrs["samplerate"] = rate
        else:
            _write_soundfile(temp_name, data, rate, suffix)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp_name)
        raise
    log.debug("wrote %s (%d frames at %g Hz)", path, len(data), rate)
    return path


def _write_soundfile(target: str, data: np.ndarray, rate: float, suffix: str) -> None:
    import soundfile

    if rate != int(rate):
        log.warning(
            "%s stores integer sample rates only: %g Hz written as %d Hz", suffix, rate, round(rate)
        )
    subtype = _WRITE_SUBTYPES[suffix]
    if suffix == ".wav" and data.dtype in (np.int16, np.int32):
        subtype = "PCM_16" if data.dtype == np.int16 else "PCM_32"
    elif data.dtype.kind != "f" or data.dtype != np.float32:
        data = data.astype(np.float32)  # float64/float16/int64 -> float32, as DAS's export
    if suffix != ".wav" and data.size and float(np.max(np.abs(data))) > 1:
        log.warning(
            "%s clips audio to [-1, 1]; values up to %g will be clipped",
            suffix,
            float(np.max(np.abs(data))),
        )
    soundfile.write(target, data, int(round(rate)), subtype=subtype, format=_WRITE_FORMATS[suffix])


def resample(data: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Change the sample rate with polyphase filtering (``scipy.signal.resample_poly``, axis 0).

    The rate ratio is reduced to lowest terms (``44100 -> 10000`` becomes up 100, down 441);
    non-integer rates use their exact decimal ratio, approximated to a denominator of at most
    1000 if its terms exceed 100000.

    Parameters
    ----------
    data : np.ndarray
        ``[frames]`` or ``[frames, channels]``.
    fs_in, fs_out : float
        Current and wanted sample rate in Hz (> 0).

    Returns
    -------
    np.ndarray
        Resampled data, ``ceil(frames * up / down)`` frames, float32 if the input was float32.
    """
    from scipy.signal import resample_poly

    for rate in (fs_in, fs_out):
        if not math.isfinite(float(rate)) or float(rate) <= 0:
            raise DasError(f"sample rates must be positive numbers of Hz, got {fs_in} -> {fs_out}")
    data = np.asarray(data)
    up, down = resample_ratio(fs_in, fs_out)
    if Fraction(up, down) != Fraction(repr(float(fs_out))) / Fraction(repr(float(fs_in))):
        log.info("resampling %g -> %g Hz approximated by %d/%d", fs_in, fs_out, up, down)
    if up == down:
        return data.copy()
    out = resample_poly(data, up, down, axis=0)
    return out.astype(np.float32) if data.dtype == np.float32 else out


def resample_ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    """``(up, down)`` of the polyphase resampling ``fs_in -> fs_out`` (the one home of the ratio).

    The exact decimal ratio in lowest terms; approximated to a denominator of at most 1000 when
    its terms exceed 100000 (e.g. 44100.37 Hz, whose exact filter would be too long).

    >>> resample_ratio(44100, 10000)
    (100, 441)
    """
    ratio = Fraction(repr(float(fs_out))) / Fraction(repr(float(fs_in)))
    if max(ratio.numerator, ratio.denominator) > 100_000:
        ratio = ratio.limit_denominator(1000)
    return ratio.numerator, ratio.denominator
