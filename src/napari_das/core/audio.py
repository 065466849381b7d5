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
import re
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DasError

log = logging.getLogger(__name__)

#: Audio suffixes we read, in the order a data folder is matched (spec 1.4: npz, wav, h5 first).
AUDIO_SUFFIXES = (".npz", ".wav", ".h5", ".flac", ".ogg")
SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg")

#: soundfile subtype used by :func:`write` for each suffix.
_WRITE_SUBTYPES = {".wav": "FLOAT", ".flac": "PCM_24", ".ogg": "VORBIS"}
_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
_TRUNCATED_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


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


# --------------------------------------------------------------------------------------------
# per-format readers: each opens the file and exposes frames, channels, samplerate, and
# read_range(start, stop); they are context managers that close the file.


class _SoundfileSource(contextlib.AbstractContextManager):
    def __init__(self, path: Path):
        import soundfile

        try:
            self._file = soundfile.SoundFile(str(path))
        except (soundfile.SoundFileError, RuntimeError, OSError) as exc:
            raise DasError(
                f"cannot read this audio file ({_short(exc)}); check that it is a complete "
                f"{path.suffix} file, or re-export it",
                path,
            ) from exc
        self.path = path
        self.frames = int(self._file.frames)
        self.channels = int(self._file.channels)
        self.samplerate = float(self._file.samplerate)
        truncated = _TRUNCATED_DATA.search(self._file.extra_info or "")
        if truncated:
            self._file.close()
            raise DasError(
                f"the file is truncated (its header promises {truncated.group(1)} bytes of audio, "
                f"only {truncated.group(2)} are there); copy it again or re-export it",
                path,
            )

    def read_range(self, start: int, stop: int) -> np.ndarray:
        import soundfile

        try:
            if self._file.tell() != start:
                self._file.seek(start)
            return self._file.read(stop - start, dtype="float32", always_2d=True)
        except (soundfile.SoundFileError, RuntimeError) as exc:
            raise DasError(
                f"cannot decode the audio after frame {start} ({_short(exc)}); the file is "
                "probably truncated or damaged: copy it again or re-export it",
                self.path,
            ) from exc

    def __exit__(self, *exc_info: Any) -> None:
        self._file.close()


class _NpzSource(contextlib.AbstractContextManager):
    """Reads ``data`` from an ``.npz`` member without loading all of it.

    ``np.savez`` stores members uncompressed: frames are then read directly at their offset in
    the file.  Compressed members (``np.savez_compressed``) are decompressed as a stream.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DasError(
                f"not a readable .npz file ({_short(exc)}); re-export it with keys 'data' and "
                "'samplerate'",
                path,
            ) from exc
        try:
            names = set(self._zip.namelist())
            missing = [key for key in ("data", "samplerate") if f"{key}.npy" not in names]
            if missing:
                raise DasError(
                    f"the .npz file lacks {' and '.join(repr(m) for m in missing)}; save the audio "
                    "with np.savez(path, data=audio, samplerate=rate)",
                    path,
                )
            with self._zip.open("samplerate.npy") as member:
                rate = np.lib.format.read_array(member, allow_pickle=False)
            self.samplerate = _checked_samplerate(rate, path)
            self._member = self._zip.open("data.npy")
            version = np.lib.format.read_magic(self._member)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(self._member)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(self._member)
        except DasError:
            self._zip.close()
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            self._zip.close()
            raise DasError(f"damaged .npz file ({_short(exc)}); re-export it", path) from exc
        if dtype.hasobject or len(shape) not in (1, 2):
            self._zip.close()
            raise DasError(
                f"'data' must be a numeric array [samples] or [samples, channels], got shape "
                f"{shape} of {dtype}; re-export it",
                path,
            )
        self._header_end = self._member.tell()
        self._raw = None  # stored (uncompressed) member: read frames straight from the file
        member_info = self._zip.getinfo("data.npy")
        if member_info.compress_type == zipfile.ZIP_STORED:
            self._raw = open(path, "rb")  # noqa: SIM115 - closed in __exit__
            self._raw.seek(member_info.header_offset)
            local_header = self._raw.read(30)
            if len(local_header) == 30 and local_header[:4] == b"PK\x03\x04":
                name_length, extra_length = struct.unpack("<HH", local_header[26:30])
                self._header_end += member_info.header_offset + 30 + name_length + extra_length
            else:
                self._raw.close()
                self._raw = None
        self._dtype = dtype
        self._fortran = bool(fortran) and len(shape) == 2 and shape[1] > 1
        self._shape = shape
        self.frames = int(shape[0])
        self.channels = int(shape[1]) if len(shape) == 2 else 1
        self._whole: np.ndarray | None = None
        self._position = 0  # frame position of the member stream

    def read_range(self, start: int, stop: int) -> np.ndarray:
        try:
            if self._fortran:  # column-major: frames are not contiguous, load once
                if self._whole is None:
                    self._whole = self._read_frames(0, self.frames, column_major=True)
                return self._whole[start:stop]
            return self._read_frames(start, stop)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise DasError(
                f"cannot read 'data' ({_short(exc)}); the file is probably truncated: re-export it",
                self.path,
            ) from exc

    def _read_frames(self, start: int, stop: int, column_major: bool = False) -> np.ndarray:
        row_bytes = self._dtype.itemsize * self.channels
        stream = self._member if self._raw is None else self._raw
        if start != self._position or self._raw is not None:
            stream.seek(self._header_end + start * row_bytes)
        count = (stop - start) * self.channels
        raw = stream.read(count * self._dtype.itemsize)
        if len(raw) != count * self._dtype.itemsize:
            raise EOFError(f"expected {count * self._dtype.itemsize} bytes, got {len(raw)}")
        self._position = stop
        values = np.frombuffer(raw, dtype=self._dtype, count=count)
        if column_major:
            values = values.reshape(self.channels, stop - start).T
        else:
            values = values.reshape(stop - start, self.channels)
        return values.astype(np.float32)

    def __exit__(self, *exc_info: Any) -> None:
        if self._raw is not None:
            self._raw.close()
        self._member.close()
        self._zip.close()


class _H5Source(contextlib.AbstractContextManager):
    def __init__(self, path: Path):
        import h5py

        self.path = path
        try:
            self._file = h5py.File(path, "r")
        except OSError as exc:
            raise DasError(
                f"not a readable HDF5 file ({_short(exc)}); copy it again or re-export it", path
            ) from exc
        try:
            dataset = self._file.get("data")
            if not isinstance(dataset, h5py.Dataset):
                raise DasError(
                    "the .h5 file has no dataset 'data'; store the audio as dataset 'data' "
                    "([samples] or [samples, channels]) with file attribute 'samplerate'",
                    path,
                )
            if "samplerate" in self._file.attrs:
                rate = self._file.attrs["samplerate"]
            elif isinstance(self._file.get("samplerate"), h5py.Dataset):
                rate = self._file["samplerate"][()]
            else:
                raise DasError(
                    "the .h5 file has no attribute 'samplerate'; add it "
                    "(h5py: f.attrs['samplerate'] = rate)",
                    path,
                )
            self.samplerate = _checked_samplerate(rate, path)
            if dataset.ndim not in (1, 2) or dataset.dtype.kind not in "biuf":
                raise DasError(
                    f"'data' must be a numeric array [samples] or [samples, channels], got shape "
                    f"{dataset.shape} of {dataset.dtype}; re-export it",
                    path,
                )
        except BaseException:
            self._file.close()
            raise
        self._data = dataset
        self.frames = int(dataset.shape[0])
        self.channels = int(dataset.shape[1]) if dataset.ndim == 2 else 1

    def read_range(self, start: int, stop: int) -> np.ndarray:
        try:
            values = self._data[start:stop]
        except OSError as exc:
            raise DasError(
                f"cannot read 'data' ({_short(exc)}); the file is probably damaged: re-export it",
                self.path,
            ) from exc
        return np.asarray(values, dtype=np.float32).reshape(stop - start, self.channels)

    def __exit__(self, *exc_info: Any) -> None:
        self._file.close()


def _open_source(path: str | os.PathLike) -> _SoundfileSource | _NpzSource | _H5Source:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise DasError(
            f"unsupported audio format {suffix or '(no suffix)'}; use one of "
            f"{', '.join(AUDIO_SUFFIXES)}",
            path,
        )
    if not path.exists():
        raise DasError("file not found; check the path", path)
    if path.is_dir():
        raise DasError("is a folder, not an audio file; pick a file", path)
    if path.stat().st_size == 0:
        raise DasError("the file is empty (0 bytes); copy it again or re-export it", path)
    if suffix == ".npz":
        return _NpzSource(path)
    if suffix == ".h5":
        return _H5Source(path)
    return _SoundfileSource(path)


def _checked_samplerate(value: Any, path: Path) -> float:
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise DasError(
            f"'samplerate' must be one number (Hz), got {array!r}; store it as a scalar", path
        )
    rate = float(array.reshape(()))
    if not math.isfinite(rate) or rate <= 0:
        raise DasError(f"sample rate must be a positive number of Hz, got {rate}; fix it", path)
    return rate


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


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
    with _open_source(path) as source:
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
    with _open_source(path) as source:
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
    with _open_source(path) as source:
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
    suffix = path.suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise DasError(
            f"cannot write audio as {suffix or '(no suffix)'}; use one of "
            f"{', '.join(AUDIO_SUFFIXES)}",
            path,
        )
    if path.exists() and not overwrite:
        raise DasError("file exists; choose another name or allow overwriting", path)
    rate = _checked_samplerate(samplerate, path)
    data = np.asarray(data)
    if data.ndim not in (1, 2) or data.dtype.kind not in "biuf":
        raise DasError(
            f"audio must be numeric [samples] or [samples, channels], got shape "
            f"{data.shape} of {data.dtype}",
            path,
        )
    if not path.parent.is_dir():
        raise DasError("the folder does not exist; create it first", path.parent)

    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
    ratio = Fraction(repr(float(fs_out))) / Fraction(repr(float(fs_in)))
    if max(ratio.numerator, ratio.denominator) > 100_000:  # e.g. 44100.37 Hz: filter too long
        ratio = ratio.limit_denominator(1000)
        log.info(
            "resampling %g -> %g Hz approximated by %d/%d",
            fs_in,
            fs_out,
            ratio.numerator,
            ratio.denominator,
        )
    if ratio == 1:
        return data.copy()
    out = resample_poly(data, ratio.numerator, ratio.denominator, axis=0)
    return out.astype(np.float32) if data.dtype == np.float32 else out
