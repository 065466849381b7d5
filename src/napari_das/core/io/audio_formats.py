"""Per-format audio readers behind :mod:`napari_das.core.io.audio` (spec 1.1).

:func:`open_source` checks the path and returns a reader for its suffix; each reader opens the
file, exposes ``frames``, ``channels``, ``samplerate`` and ``read_range(start, stop)`` (float32
``[frames, channels]``), and is a context manager that closes the file.  Every problem the user
can fix raises :class:`~napari_das.core.errors.DasError` naming the file: damaged or truncated
files, missing keys, a sample rate that is not one positive number.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DasError

#: Audio suffixes we read, in the order a data folder is matched (spec 1.4: npz, wav, h5 first).
AUDIO_SUFFIXES = (".npz", ".wav", ".h5", ".flac", ".ogg")
SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg")

_TRUNCATED_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


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
            self.samplerate = checked_samplerate(rate, path)
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
            self.samplerate = checked_samplerate(rate, path)
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


def open_source(path: str | os.PathLike) -> _SoundfileSource | _NpzSource | _H5Source:
    """The reader for ``path`` (by suffix), after checking that it is a non-empty file."""
    path = Path(path)
    suffix = checked_suffix(path, "unsupported audio format")
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


def checked_suffix(path: Path, problem: str) -> str:
    """The lower-case suffix of ``path`` if it is one of :data:`AUDIO_SUFFIXES`.

    Otherwise a DasError ``"<problem> <suffix>; use one of ..."`` naming ``path``.
    """
    suffix = path.suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise DasError(f"{problem} {suffix or '(no suffix)'}; use one of "
                       f"{', '.join(AUDIO_SUFFIXES)}", path)
    return suffix


def checked_samplerate(value: Any, path: Path) -> float:
    """``value`` as a positive, finite rate in Hz; otherwise a DasError naming ``path``."""
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
