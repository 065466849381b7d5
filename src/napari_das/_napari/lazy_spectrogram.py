"""Spectrograms of long recordings for napari, computed only where the user looks.

A recording becomes a *multiscale* image: level ``k`` has one column every ``hop * 2**k``
samples, all levels share the ``nfft // 2 + 1`` frequency rows.  Where the columns are at most
``nfft`` apart each one is the spectrum of the window centred on its time; coarser columns would
see only a window in every few and miss short song, so they are *pooled*: per frequency, the
loudest of the spectra of the windows tiling the column's stretch (:func:`max_power_db`), and a
syllable anywhere in the stretch shows.  Pooled blocks up to :data:`LAZY_POOL_FRAMES` samples are
computed when asked; the coarser levels (the overview of an hour) come from a
:class:`SpectrumOverview` filled in a background thread (one pass over the file, as the waveform
envelope), one window per column until it is complete.

napari draws a 2D multiscale image by asking the level that matches the zoom for the visible block only, so an
hour-long recording opens by computing the coarsest level (about :data:`COARSEST_COLUMNS`
columns) and browsing computes a screenful at a time.  Columns are computed in blocks of
:data:`BLOCK_COLUMNS` and kept in a small LRU cache per level.

The level arrays are numpy-like (``shape``, ``dtype``, ``ndim``, ``__getitem__``,
``__array__``); the maths is :mod:`napari_das.core.data.spectrogram`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..core.data.spectrogram import (
    SpectrogramGeometry,
    extract_windows,
    max_power_db,
    power_db,
)
from ..core.io import audio
from ..core.io.audio_formats import SOUNDFILE_SUFFIXES
from .envelope import COARSE_FACTOR

log = logging.getLogger(__name__)

#: Columns computed (and cached) together.
BLOCK_COLUMNS = 512
#: The coarsest level has at most this many columns (computed in full when a file opens).
COARSEST_COLUMNS = 2048
#: Cached bytes per level before the least recently used blocks are dropped.
CACHE_BYTES_PER_LEVEL = 32 * 2**20
#: Read a block's samples in one piece if they span at most this many frames; else per window.
CONTIGUOUS_READ_FRAMES = 2**21
#: Pooled blocks spanning at most this many samples are computed when napari asks for them;
#: coarser levels come from the background :class:`SpectrumOverview`.
LAZY_POOL_FRAMES = 2**21
#: Largest overview table (bytes); a longer recording gets a coarser one (an hour at 32 kHz
#: with the default FFT size: 58 MB).
OVERVIEW_BYTES = 64 * 2**20
#: The overview's values (dB; float16 keeps 0.03 dB at 50 dB, plenty for a picture).
OVERVIEW_DTYPE = np.float16
#: Overview columns computed per step of the background thread.
OVERVIEW_STEP_COLUMNS = 64
#: The complete overview also keeps the maxima of every ``COARSE_FACTOR``, ``COARSE_FACTOR**2``,
#: ... of its columns (1/7 more memory), so a coarse level's column reduces at most
#: ``COARSE_FACTOR`` values per frequency (float16 maxima cost ~4 ns a value: a block of 512
#: columns 64 table columns wide took 30 ms, 1-2 ms from the coarse tables).  The same factor
#: as the waveform envelope's coarse tables.


class AudioWindows:
    """Random access to the samples of one channel of a recording (file or array).

    ``.npz`` files stored without compression are memory-mapped; WAV/FLAC/OGG are read with
    soundfile seeks; compressed ``.npz`` and ``.h5`` go through :func:`napari_das.core.io.audio.read`
    (h5 slices are cheap; a compressed npz is loaded once).
    """

    def __init__(self, source: str | os.PathLike | np.ndarray, samplerate: float | None = None):
        self.path: str | None = None
        self._array: np.ndarray | None = None
        self._wav: tuple[int, str, float] | None = None  # a plain WAV's layout (_wav_layout)
        if isinstance(source, np.ndarray):
            if samplerate is None:
                raise ValueError("samplerate is needed for in-memory audio")
            data = source if source.ndim == 2 else source.reshape(len(source), -1)
            self._array, self.samplerate = data, float(samplerate)
            self.frames, self.channels = data.shape
            return
        self.path = os.fspath(source)
        probe = audio.info(self.path)
        self.samplerate, self.frames, self.channels = probe.samplerate, probe.frames, probe.channels
        suffix = Path(self.path).suffix.lower()
        if suffix == ".wav":  # plain PCM: windows far apart read with one pread each
            self._wav = _wav_layout(self.path, self.frames, self.channels)
        if suffix == ".npz":
            self._array = _memmap_npz_data(self.path)
            if self._array is None:  # compressed: no random access, load once
                self._array = audio.read(self.path)[0]
        self._soundfile = suffix in SOUNDFILE_SUFFIXES

    @property
    def in_memory(self) -> np.ndarray | None:
        """The samples ``[T, C]`` of an in-memory recording (or a mapped/loaded ``.npz``)."""
        return self._array

    def windows(self, centres: np.ndarray, nfft: int, channel: int) -> np.ndarray:
        """``[len(centres), nfft]`` float32 windows of ``channel`` (zeros outside the file)."""
        centres = np.asarray(centres, dtype=np.int64)
        if len(centres) == 0:
            return np.zeros((0, nfft), np.float32)
        first = int(centres[0]) - nfft // 2
        last = int(centres[-1]) - nfft // 2 + nfft
        mapped = self._array is not None
        if last - first <= CONTIGUOUS_READ_FRAMES or mapped and (
            len(centres) * nfft >= last - first
        ):
            start, stop = max(first, 0), min(last, self.frames)
            return extract_windows(self._read(start, stop, channel), start, centres, nfft)
        return np.stack(
            [self._window(int(c) - nfft // 2, nfft, channel) for c in centres]
        ) if mapped else self._sparse_windows(centres, nfft, channel)

    def _window(self, first: int, nfft: int, channel: int) -> np.ndarray:
        start, stop = max(first, 0), min(first + nfft, self.frames)
        return extract_windows(self._read(start, stop, channel), start, [first + nfft // 2], nfft)[0]

    def _sparse_windows(self, centres: np.ndarray, nfft: int, channel: int) -> np.ndarray:
        out = np.zeros((len(centres), nfft), np.float32)
        if self._wav is not None:  # one pread per window (a memory map would page in the
            offset, dtype, scale = self._wav  # whole file: the kernel maps cached neighbours)
            frame_bytes = np.dtype(dtype).itemsize * self.channels
            fd = os.open(self.path, os.O_RDONLY)
            try:
                for row, centre in enumerate(np.asarray(centres, np.int64)):
                    first = int(centre) - nfft // 2
                    start, stop = max(first, 0), min(first + nfft, self.frames)
                    if stop <= start:
                        continue
                    raw = os.pread(fd, (stop - start) * frame_bytes, offset + start * frame_bytes)
                    piece = np.frombuffer(raw, dtype).reshape(-1, self.channels)[:, channel]
                    out[row, start - first: start - first + len(piece)] = piece
            finally:
                os.close(fd)
            return out * np.float32(scale)
        if self._soundfile:
            import soundfile

            with soundfile.SoundFile(self.path) as handle:
                for row, centre in enumerate(centres):
                    first = int(centre) - nfft // 2
                    start, stop = max(first, 0), min(first + nfft, self.frames)
                    if stop <= start:
                        continue
                    handle.seek(start)
                    piece = handle.read(stop - start, dtype="float32", always_2d=True)
                    out[row, start - first: start - first + len(piece)] = piece[:, channel]
            return out
        for row, centre in enumerate(centres):
            out[row] = self._window(int(centre) - nfft // 2, nfft, channel)
        return out

    def samples(self, start: int, stop: int, channel: int) -> np.ndarray:
        """float32 samples ``[start, stop)`` of ``channel`` (clipped to the recording)."""
        return self._read(max(0, int(start)), min(int(stop), self.frames), channel)

    def _read(self, start: int, stop: int, channel: int) -> np.ndarray:
        if stop <= start:
            return np.zeros(0, np.float32)
        if self._array is not None:
            return np.asarray(self._array[start:stop, channel], dtype=np.float32)
        return audio.read(self.path, start, stop)[0][:, channel]


#: WAV sample formats read directly: (format tag, bits) -> (dtype, scale to [-1, 1)).
_WAV_FORMATS = {(1, 16): ("<i2", 1 / 32768), (1, 32): ("<i4", 1 / 2**31), (3, 32): ("<f4", 1.0)}


def _wav_layout(path: str, frames: int, channels: int) -> tuple[int, str, float] | None:
    """``(byte offset of the samples, dtype, factor scaling them as soundfile does)`` of a plain
    PCM WAV (16/32-bit integer or 32-bit float, also extensible); None for anything else."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            fmt = None
            while True:
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return None
                kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if kind == b"fmt ":
                    body = handle.read(size + (size & 1))
                    tag = int.from_bytes(body[0:2], "little")
                    nchannels = int.from_bytes(body[2:4], "little")
                    bits = int.from_bytes(body[14:16], "little")
                    if tag == 0xFFFE and size >= 26:  # extensible: the sub-format's tag
                        tag = int.from_bytes(body[24:26], "little")
                    fmt = (tag, bits, nchannels)
                elif kind == b"data":
                    offset = handle.tell()
                    break
                else:
                    handle.seek(size + (size & 1), 1)
        if fmt is None or fmt[2] != channels or (fmt[0], fmt[1]) not in _WAV_FORMATS:
            return None
        dtype, scale = _WAV_FORMATS[(fmt[0], fmt[1])]
        if offset + frames * channels * np.dtype(dtype).itemsize > os.path.getsize(path):
            return None
        return offset, dtype, scale
    except (OSError, ValueError):
        return None


def _memmap_npz_data(path: str) -> np.ndarray | None:
    """Memory-map ``data.npy`` inside an uncompressed ``.npz`` (None if compressed/odd)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo("data.npy")
            if member.compress_type != zipfile.ZIP_STORED:
                return None
        with open(path, "rb") as handle:
            handle.seek(member.header_offset)
            local = handle.read(30)
            if local[:4] != b"PK\x03\x04":
                return None
            name_length = int.from_bytes(local[26:28], "little")
            extra_length = int.from_bytes(local[28:30], "little")
            handle.seek(member.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            offset = handle.tell()
        if dtype.hasobject or len(shape) not in (1, 2):
            return None
        data = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                         order="F" if fortran else "C")
        return data.reshape(shape[0], -1) if data.ndim == 1 else data
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


class SpectrogramLevel:
    """One level of a lazily computed spectrogram: numpy-like ``[nfreqs, ncolumns]`` float32.

    Row 0 is 0 Hz; column ``j`` is centred on sample ``j * stride``.
    """

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, windows: AudioWindows, channel: int, nfft: int, stride: int, ncolumns: int):
        self.windows, self.channel, self.nfft, self.stride = windows, channel, nfft, stride
        self.shape = (nfft // 2 + 1, int(ncolumns))
        #: "window" (one window per column), "pooled" (loudest of the windows tiling each
        #: column, computed on demand) or "overview" (pooled, from :attr:`overview`)
        self.mode = "window"
        self.overview: SpectrumOverview | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._strided: set[int] = set()  # cached blocks of an overview level not yet pooled
        self._lock = threading.Lock()  # napari may slice asynchronously
        block_bytes = self.shape[0] * BLOCK_COLUMNS * 4
        self._max_blocks = max(4, CACHE_BYTES_PER_LEVEL // block_bytes)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def cached_bytes(self) -> int:
        """Bytes of computed columns currently held."""
        return sum(block.nbytes for block in self._cache.values())

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"SpectrogramLevel(shape={self.shape}, stride={self.stride}, channel={self.channel})"

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        values = self[:, :]
        return values if dtype is None else values.astype(dtype)

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            key = key[:at] + (slice(None),) * (2 - len(key) + 1) + key[at + 1:]
        key = key + (slice(None),) * (2 - len(key))
        if len(key) != 2:
            raise IndexError(f"too many indices for a 2-D spectrogram: {key!r}")
        rows, cols = key
        if isinstance(cols, slice):
            start, stop, step = cols.indices(self.shape[1])
            if step > 0:
                block = self._columns(start, max(start, stop))
                return block[rows, ::step] if step != 1 else block[rows, :]
            cols = np.arange(start, stop, step)
        if isinstance(cols, (int, np.integer)):
            col = int(cols) + (self.shape[1] if cols < 0 else 0)
            if not 0 <= col < self.shape[1]:
                raise IndexError(f"column {cols} out of range for {self.shape[1]} columns")
            return self._columns(col, col + 1)[rows, 0]
        index = np.arange(self.shape[1])[cols]
        if index.size == 0:
            return np.zeros((self.shape[0], 0), np.float32)[rows]
        lo = int(index.min())
        return self._columns(lo, int(index.max()) + 1)[:, index - lo][rows]

    def _columns(self, start: int, stop: int) -> np.ndarray:
        if stop <= start:
            return np.zeros((self.shape[0], 0), np.float32)
        first_block, last_block = start // BLOCK_COLUMNS, (stop - 1) // BLOCK_COLUMNS
        pieces = [self._block(b) for b in range(first_block, last_block + 1)]
        joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)
        offset = first_block * BLOCK_COLUMNS
        return joined[:, start - offset: stop - offset]

    @property
    def pooled(self) -> bool:
        """Whether the shown columns are pooled now (an overview level: once it is complete)."""
        return self.mode == "pooled" or (self.mode == "overview" and self.overview.ready)

    def _block(self, index: int) -> np.ndarray:
        overview = self.overview if self.mode == "overview" else None
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None and not (index in self._strided and overview.ready):
                self._cache.move_to_end(index)
                return cached
        first = index * BLOCK_COLUMNS
        columns = np.arange(first, min(first + BLOCK_COLUMNS, self.shape[1]))
        strided = False
        if self.mode == "pooled":
            values = pooled_columns(self.windows, self.channel, self.nfft, self.stride, columns)
        elif overview is not None and overview.ready:
            values = overview.columns(self.stride, columns)
        else:
            if overview is not None:
                overview.start()
                strided = True
            values = power_db(self.windows.windows(columns * self.stride, self.nfft,
                                                   self.channel))
        values.setflags(write=False)
        with self._lock:
            self._cache[index] = values
            (self._strided.add if strided else self._strided.discard)(index)
            while len(self._cache) > self._max_blocks:
                dropped, _ = self._cache.popitem(last=False)
                self._strided.discard(dropped)
        return values


def pooled_columns(windows: AudioWindows, channel: int, nfft: int, stride: int,
                   columns: np.ndarray, centred: bool = True) -> np.ndarray:
    """``[nfreqs, len(columns)]``: per column ``j``, the loudest spectrum of the
    ``ceil(stride / nfft)`` windows tiling ``[j * stride - stride // 2, j * stride - stride // 2
    + stride)`` (``centred``: around the column's time ``j * stride``) or
    ``[j * stride, (j + 1) * stride)``."""
    per = -(-int(stride) // int(nfft))
    offsets = np.arange(per, dtype=np.int64) * nfft + nfft // 2 - (stride // 2 if centred else 0)
    centres = (np.asarray(columns, np.int64)[:, None] * stride + offsets[None, :]).reshape(-1)
    return max_power_db(windows.windows(centres, nfft, channel), per)


class SpectrumOverview:
    """The loudest spectra of one channel per ``stride`` samples, for the whole recording,
    filled in a background thread (:meth:`start`); the levels reduce them (:meth:`columns`).

    Column ``i`` is the loudest spectrum of the windows tiling samples ``[i * stride,
    (i + 1) * stride)``; ``ready`` once every column is computed (and the coarse maxima
    :attr:`coarse`: table ``m`` has the maxima of every ``COARSE_FACTOR ** (m + 1)`` columns).
    """

    def __init__(self, windows: AudioWindows, channel: int, nfft: int, stride: int,
                 ncolumns: int):
        self.windows, self.channel, self.nfft, self.stride = windows, channel, nfft, stride
        self.values = np.zeros((nfft // 2 + 1, int(ncolumns)), OVERVIEW_DTYPE)
        self.coarse: list[np.ndarray] = []
        self.filled = 0  # columns [0, filled) computed
        self.error: str | None = None
        self._complete = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def ready(self) -> bool:
        return self._complete

    def start(self) -> None:
        """Fill the table in a background thread (once)."""
        if self._thread is not None or self.ready:
            return
        self._thread = threading.Thread(target=self._fill, name="das-overview", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float = 60.0) -> bool:
        """Start and wait for the table (benchmarks, tests, scripts); whether it is complete."""
        self.start()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def _fill(self) -> None:
        total = self.values.shape[1]
        try:
            while self.filled < total and not self._stop.is_set():
                columns = np.arange(self.filled, min(self.filled + OVERVIEW_STEP_COLUMNS, total))
                self.values[:, columns[0]: columns[-1] + 1] = pooled_columns(
                    self.windows, self.channel, self.nfft, self.stride, columns, centred=False)
                self.filled = int(columns[-1]) + 1
            if self.filled >= total:
                self.coarse = coarse_maxima(self.values, COARSE_FACTOR)
                self._complete = True
        except Exception as err:  # noqa: BLE001 - a background thread must not die loudly
            self.error = str(err)
            log.warning("overview of the recording failed: %s", err)

    def columns(self, stride: int, columns: np.ndarray) -> np.ndarray:
        """A level's columns at ``stride`` (a multiple of the table's): column ``j`` centred on
        sample ``j * stride`` is the loudest of the table's columns tiling ``[j * stride -
        stride / 2, j * stride + stride / 2)``; at the table's own stride, of the two around
        ``j * stride`` (half a column wider on each side, and centred)."""
        factor = int(stride) // self.stride
        total = self.values.shape[1]
        columns = np.asarray(columns, np.int64)
        out = np.full((self.values.shape[0], len(columns)), np.nan, np.float32)
        if factor == 1:
            inside = (columns >= 0) & (columns <= total)
            left = np.clip(columns - 1, 0, total - 1)
            right = np.clip(columns, 0, total - 1)
            out[:, inside] = np.maximum(self.values[:, left[inside]],
                                        self.values[:, right[inside]])
        elif len(columns):
            # the coarsest table whose groups tile [j * factor - factor // 2, ...) exactly
            table, group = self.values, 1
            for coarse in self.coarse:
                step = group * COARSE_FACTOR
                if (factor // 2) % step or factor % step:
                    break
                table, group = coarse, step
            width, offset = factor // group, (factor // 2) // group
            first, last = int(columns.min()), int(columns.max())
            span = _group_maxima(table, first * width - offset, width, last - first + 1)
            out[:] = span[:, columns - first]
        floor = float(np.nanmin(out)) if np.isfinite(out).any() else 0.0
        return np.where(np.isfinite(out), out, floor).astype(np.float32)


def _group_maxima(table: np.ndarray, first: int, width: int, count: int) -> np.ndarray:
    """float32 ``[rows, count]``: the maxima of ``table``'s columns ``[first + i * width,
    first + (i + 1) * width)`` clipped to the table, NaN where nothing is left."""
    rows, total = table.shape
    out = np.full((rows, count), -np.inf, np.float32)
    lo, hi = max(first, 0), min(first + count * width, total)
    if hi > lo:
        padded = np.full((rows, count * width), -np.inf, table.dtype)
        padded[:, lo - first: hi - first] = table[:, lo:hi]
        groups = padded.reshape(rows, count, width)
        for k in range(width):  # a few wide strided maxima: much faster than reduceat
            np.maximum(out, groups[:, :, k], out=out)
    out[np.isneginf(out)] = np.nan
    return out


def coarse_maxima(values: np.ndarray, factor: int, min_columns: int = 2) -> list[np.ndarray]:
    """Tables of the maxima of every ``factor``, ``factor**2``, ... columns of ``values`` (the
    last group of each may be shorter), down to ``min_columns`` columns.

    >>> [t.tolist() for t in coarse_maxima(np.arange(10.0)[None, :], 2)]
    [[[1.0, 3.0, 5.0, 7.0, 9.0]], [[3.0, 7.0, 9.0]], [[7.0, 9.0]]]
    """
    tables = []
    table = values
    while table.shape[1] > min_columns:
        rows, total = table.shape
        full = total // factor
        groups = table[:, : full * factor].reshape(rows, full, factor)
        coarse = np.empty((rows, -(-total // factor)), table.dtype)
        coarse[:, :full] = groups[:, :, 0]
        for k in range(1, factor):
            np.maximum(coarse[:, :full], groups[:, :, k], out=coarse[:, :full])
        if coarse.shape[1] > full:
            coarse[:, full] = table[:, full * factor:].max(axis=1)
        tables.append(coarse)
        table = coarse
    return tables


def pool_levels(levels: list[SpectrogramLevel]) -> list[SpectrogramLevel]:
    """Set the modes of a pyramid's levels (see the module docstring): one window per column up
    to a stride of ``nfft``; coarser levels from one shared :class:`SpectrumOverview` at the
    finest stride whose table fits :data:`OVERVIEW_BYTES` (all of them for an hour at 32 kHz);
    levels finer than that table (very long recordings) pooled on demand where a block spans at
    most :data:`LAZY_POOL_FRAMES` samples, else one window per column."""
    coarse = [level for level in levels if level.stride > level.nfft]
    base = None
    for level in coarse:
        ncolumns = -(-level.windows.frames // level.stride)
        if ncolumns * level.shape[0] * np.dtype(OVERVIEW_DTYPE).itemsize <= OVERVIEW_BYTES:
            base = SpectrumOverview(level.windows, level.channel, level.nfft, level.stride,
                                    ncolumns)
            break
    for level in levels:
        if level.stride <= level.nfft:
            level.mode = "window"
        elif base is not None and level.stride >= base.stride:
            level.mode, level.overview = "overview", base
        elif level.stride * BLOCK_COLUMNS <= LAZY_POOL_FRAMES:
            level.mode = "pooled"
        else:
            level.mode = "window"
    return levels


def spectrogram_levels(
    windows: AudioWindows, channel: int, geometry: SpectrogramGeometry
) -> list[SpectrogramLevel]:
    """The multiscale pyramid of one channel (one level if the recording is short).

    Level ``k`` has exactly ``ncolumns_0 / 2**k`` columns (level 0 is padded with a few silent
    columns past the end so the factors are exact powers of two, which is what napari assumes
    when it places a coarse tile: column ``j`` of level ``k`` sits at level-0 column ``j * 2**k``).
    Levels with columns more than ``nfft`` apart are pooled (:func:`pool_levels`).
    """
    columns = geometry.ncolumns
    nlevels = 1 + max(0, math.ceil(math.log2(columns / COARSEST_COLUMNS))) if columns > 0 else 1
    coarsest = math.ceil(columns / 2 ** (nlevels - 1))
    return pool_levels([
        SpectrogramLevel(windows, channel, geometry.nfft, geometry.hop * 2**k,
                         coarsest * 2 ** (nlevels - 1 - k))
        for k in range(nlevels)
    ])
