"""DAS's prediction chunk layout, for models imported from DAS (spec 4.2, 7.2).

DAS runs its network on chunks of ``nb_hist`` samples starting at multiples of ``stride = nb_hist -
2 * data_padding`` and keeps the middle of every chunk: chunk ``j`` gives samples ``[j*stride +
data_padding, (j+1)*stride + data_padding)``.  Its margin is shorter than the network's receptive
field and its STFT layer scales every chunk by its own maximum, so a DAS model's probabilities
depend on where the chunks start: reproducing DAS's numbers means running this layout.  The end
of the recording is padded by repeating the last sample (as DAS does).

DAS leaves the first ``data_padding`` samples and everything after its last complete batch
empty (zeros).  Here they are filled: the first chunk also gives its left margin, and the chunks
continue until one reaches the end of the recording, which also gives its right part.  Every
sample DAS covers gets DAS's value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..errors import DasError
from ..progress import check_stop, emit

Reader = Callable[[int, int], np.ndarray]


def nb_chunks(frames: int, nb_hist: int, stride: int) -> int:
    """Chunks needed so that the last one reaches the end of ``frames`` samples (at least 1)."""
    if frames <= nb_hist:
        return 1
    return -(-(int(frames) - nb_hist) // stride) + 1


def kept_range(j: int, total: int, frames: int, stride: int, pad: int) -> tuple[int, int]:
    """Samples ``[lo, hi)`` that chunk ``j`` of ``total`` gives to the output."""
    lo = 0 if j == 0 else j * stride + pad
    hi = frames if j == total - 1 else (j + 1) * stride + pad
    return lo, min(hi, frames)


def read_edge_padded(read: Reader, frames: int, start: int, stop: int) -> np.ndarray:
    """Samples ``[start, stop)`` (``start >= 0``); past the end, the last sample repeated."""
    inner = np.asarray(read(start, min(stop, frames)), np.float32)
    if inner.ndim == 1:
        inner = inner[:, None]
    missing = stop - start - len(inner)
    if missing > 0:
        inner = np.concatenate([inner, np.repeat(inner[-1:], missing, axis=0)])
    return inner


def iter_das_probabilities(run: Callable[[np.ndarray], np.ndarray], read: Reader, frames: int,
                           nb_hist: int, stride: int, data_padding: int, nb_channels: int,
                           batch_size: int = 32, progress=None, stop=None,
                           task: str = "predict") -> Iterator[tuple[int, np.ndarray]]:
    """Stream ``(start, probabilities [n, K])`` blocks tiling ``[0, frames)`` in DAS's layout.

    ``run(chunks [n, nb_hist, C]) -> [n, nb_hist, K]`` is the model call.
    """
    frames = int(frames)
    if frames <= 0:
        return
    if stride <= 0 or stride + 2 * data_padding != nb_hist:
        raise DasError(f"DAS chunk layout: nb_hist {nb_hist}, stride {stride} and data_padding "
                       f"{data_padding} do not fit together")
    total = nb_chunks(frames, nb_hist, stride)
    batch_size = max(1, int(batch_size))
    emit(progress, "start", task=task, total=frames, message=f"predicting {frames} samples")
    for first in range(0, total, batch_size):
        check_stop(stop)
        count = min(batch_size, total - first)
        start = first * stride
        span = read_edge_padded(read, frames, start, start + (count - 1) * stride + nb_hist)
        if span.shape[1] != nb_channels:
            raise DasError(f"the audio has {span.shape[1]} channel(s) but the model expects "
                           f"{nb_channels}: use a model trained on such recordings")
        chunks = np.lib.stride_tricks.sliding_window_view(span, nb_hist, axis=0)[::stride]
        out = np.asarray(run(np.ascontiguousarray(np.swapaxes(chunks, 1, 2))), np.float32)
        pieces = []
        for i in range(count):
            j = first + i
            lo, hi = kept_range(j, total, frames, stride, data_padding)
            if hi > lo:
                pieces.append(out[i, lo - j * stride: hi - j * stride])
        block_start = kept_range(first, total, frames, stride, data_padding)[0]
        block = np.concatenate(pieces)
        yield block_start, block
        emit(progress, "step", task=task, current=block_start + len(block), total=frames)


def uses_das_layout(params: dict) -> bool:
    """True for the params of a model imported from DAS (or fine-tuned from one)."""
    from ..nn.das_import import DAS_LAYOUT_KEY

    return bool(params.get(DAS_LAYOUT_KEY))


def das_blocks(model, params: dict, read: Reader, frames: int, batch_size: int | None = None,
               progress=None, stop=None,
               precision: str = "float32") -> Iterator[tuple[int, np.ndarray]]:
    """:func:`iter_das_probabilities` for a loaded model and its params (compiled call, made
    once per model, geometry and ``precision``)."""
    from ..nn.das_import import das_network
    from .runner import cached_runner
    from .windows import WindowPlan

    net = das_network(params)
    plan = WindowPlan(hop=net.hop, margin_past=net.data_padding, margin_future=net.data_padding,
                      window=net.nb_hist)
    batch = int(batch_size or params.get("batch_size") or 32)
    runner = cached_runner(model, plan, batch, precision)
    yield from iter_das_probabilities(runner, read, frames, net.nb_hist, net.stride,
                                      net.data_padding, runner.nb_channels, batch_size=batch,
                                      progress=progress, stop=stop)
