"""PNG figures for ``das evaluate --plots`` (matplotlib, headless Agg backend).

Three figures next to the model's files:

``<stem>_confusion.png``
    Sample-wise confusion matrix, rows = true class, columns = predicted, row-normalised, with
    counts.
``<stem>_precision_recall.png``
    Sample-wise precision and recall of every song type against the probability threshold.
``<stem>_traces.png``
    An excerpt of the test audio with the true labels and the predicted probabilities, centred on
    the densest song in the split.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Thresholds of the precision/recall sweep.
THRESHOLDS = np.linspace(0.05, 0.95, 19)


def precision_recall_curve(probability: np.ndarray, truth: np.ndarray,
                           thresholds: np.ndarray = THRESHOLDS) -> tuple[np.ndarray, np.ndarray]:
    """Sample-wise precision and recall of ``probability > t`` against a binary ``truth``.

    Examples
    --------
    >>> p = np.array([0.9, 0.8, 0.3, 0.1]); t = np.array([1, 0, 1, 0], bool)
    >>> precision_recall_curve(p, t, np.array([0.5, 0.2]))
    (array([0.5       , 0.66666667]), array([0.5, 1. ]))
    """
    probability = np.asarray(probability, np.float32)
    truth = np.asarray(truth, bool)
    # one sort instead of one pass per threshold
    order = np.argsort(probability)
    sorted_p = probability[order]
    positives_above = np.cumsum(truth[order][::-1])[::-1]  # true positives at index >= i
    precision, recall = [], []
    total_true = truth.sum()
    for t in thresholds:
        first = np.searchsorted(sorted_p, t, side="right")
        predicted = len(sorted_p) - first
        tp = positives_above[first] if first < len(sorted_p) else 0
        precision.append(tp / predicted if predicted else 1.0)
        recall.append(tp / total_true if total_true else 1.0)
    return np.asarray(precision, float), np.asarray(recall, float)


class PlotData:
    """What the figures need from a split, gathered block by block (bounded memory).

    Per class the counts of samples above each threshold (all and truly of the class) give
    the precision/recall curves of :func:`precision_recall_curve`; a moving count of song
    samples (argmax of the targets > 0) finds the excerpt of :func:`_densest_start`, whose
    targets and probabilities are kept when it is found.  Feed every block of the split in
    order with :meth:`push` (a sink of :func:`~napari_das.core.evaluation.streaming.iter_split`).
    """

    def __init__(self, frames: int, nb_classes: int, samplerate: float,
                 excerpt_seconds: float = 2.0, thresholds: np.ndarray = THRESHOLDS):
        self.thresholds = np.asarray(thresholds, float)
        self.length = min(int(frames), max(1, int(excerpt_seconds * samplerate)))
        bins = self.thresholds.size + 1
        self.above = np.zeros((nb_classes, bins), np.int64)  # histogram of #thresholds < p
        self.above_true = np.zeros((nb_classes, bins), np.int64)
        self.true_total = np.zeros(nb_classes, np.int64)
        self.best = (-1, 0)  # (song samples in the window, its start)
        self.excerpt_y = self.excerpt_p = None
        self._hist = np.zeros(1, np.int64)  # song counts C[j] = sum(song[:j]) for j in [h0, end]
        self._tail_y = np.zeros((0, nb_classes), np.float32)
        self._tail_p = np.zeros((0, nb_classes), np.float32)
        self._end = 0

    def push(self, start: int, y: np.ndarray, p: np.ndarray) -> None:
        """Targets and probabilities ``[n, K]`` of samples ``start ..`` (in order)."""
        y, p = np.asarray(y, np.float32), np.asarray(p, np.float32)
        n, nb = p.shape
        labels = np.argmax(y, axis=1)
        bins = self.thresholds.size + 1
        index = np.searchsorted(self.thresholds, p)  # thresholds strictly below p
        cls = np.arange(nb)[None, :]
        self.above += np.bincount((cls * bins + index).ravel(),
                                  minlength=nb * bins).reshape(nb, bins)
        truth = labels[:, None] == cls
        self.above_true += np.bincount((cls * bins + index)[truth],
                                       minlength=nb * bins).reshape(nb, bins)
        self.true_total += np.bincount(labels, minlength=nb)[:nb]
        # windows [s, s + L) that end in this block: sums C[s + L] - C[s]
        length, h0 = self.length, start + 1 - len(self._hist)
        counts = np.concatenate([self._hist, self._hist[-1] + np.cumsum(labels > 0)])
        first = max(0, start + 1 - length)
        last = start + n - length
        ys = np.concatenate([self._tail_y, y])
        ps = np.concatenate([self._tail_p, p])
        offset = start - len(self._tail_y)
        if last >= first:
            s = np.arange(first, last + 1)
            sums = counts[s + length - h0] - counts[s - h0]
            k = int(np.argmax(sums))
            if sums[k] > self.best[0]:
                self.best = (int(sums[k]), int(s[k]))
                a = int(s[k]) - offset
                self.excerpt_y, self.excerpt_p = ys[a: a + length].copy(), ps[a: a + length].copy()
        keep = max(length - 1, 0)
        self._hist = counts[-(length + 1):] if len(counts) > length else counts
        cut = max(len(ys) - keep, 0)
        self._tail_y, self._tail_p = ys[cut:].copy(), ps[cut:].copy()
        self._end = start + n

    def curve(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Precision and recall of class ``k`` at :attr:`thresholds`."""
        predicted = np.cumsum(self.above[k][::-1])[::-1][1:]  # p above threshold j
        tp = np.cumsum(self.above_true[k][::-1])[::-1][1:]
        total = self.true_total[k]
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 1.0)
        recall = np.full(tp.shape, 1.0) if not total else tp / total
        return precision.astype(float), recall.astype(float)


def save_evaluation_plots(stem: str | os.PathLike, data: PlotData, audio: np.ndarray,
                          confusion: Any, class_names: list[str],
                          samplerate: float) -> list[str]:
    """Write the three figures and return their paths.

    Parameters
    ----------
    stem : str or os.PathLike
        Model save name; figures are ``<stem>_confusion.png`` etc.
    data : PlotData
        Curves and the excerpt gathered from the split's blocks.
    audio : array ``[L, C]``
        The test audio of the excerpt (``data.best[1]`` for ``data.length`` samples).
    confusion : array ``[K, K]``
        Sample-wise confusion matrix (rows true).
    class_names : list of str
        Class names, ``noise`` first.
    samplerate : float
        Hz.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    stem = str(stem)
    written = []
    confusion = np.asarray(confusion, float)

    fig, ax = plt.subplots(figsize=(max(4.5, 1.5 + 0.7 * len(class_names)),
                                    max(3.5, 1 + 0.6 * len(class_names))))
    rows = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(j, i, f"{rows[i, j]:.2f}\n{int(confusion[i, j])}", ha="center", va="center",
                    fontsize=7, color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion, sample-wise\n(row-normalised; counts)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)
    written.append(_save(fig, f"{stem}_confusion.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for k, name in enumerate(class_names[1:], start=1):
        precision, recall = data.curve(k)
        (line,) = ax.plot(THRESHOLDS, precision, "-", label=f"{name} precision")
        ax.plot(THRESHOLDS, recall, "--", color=line.get_color(), label=f"{name} recall")
    ax.set_xlabel("probability threshold")
    ax.set_ylim(0, 1.02)
    ax.set_title("sample-wise precision and recall vs threshold")
    ax.legend(fontsize=7, ncol=2)
    written.append(_save(fig, f"{stem}_precision_recall.png"))

    length, start = data.length, data.best[1]
    t = (start + np.arange(length)) / samplerate
    fig, axes = plt.subplots(3, 1, figsize=(9, 5), sharex=True)
    axes[0].plot(t, np.asarray(audio)[:length, 0], lw=0.5, color="k")
    axes[0].set_ylabel("audio")
    for k, name in enumerate(class_names[1:], start=1):
        axes[1].plot(t, data.excerpt_y[:, k], lw=1, label=name)
        axes[2].plot(t, data.excerpt_p[:, k], lw=1, label=name)
    axes[1].set_ylabel("true")
    axes[2].set_ylabel("predicted")
    axes[2].set_xlabel("seconds into the test split")
    axes[1].legend(fontsize=7, loc="upper right")
    written.append(_save(fig, f"{stem}_traces.png"))
    return written


def _densest_start(song: np.ndarray, length: int) -> int:
    """Start of the window of ``length`` samples with the most song."""
    if len(song) <= length:
        return 0
    counts = np.convolve(song.astype(np.float32), np.ones(length, np.float32), mode="valid")
    return int(np.argmax(counts))


def _save(fig: Any, path: str) -> str:
    """Save atomically and close the figure."""
    import matplotlib.pyplot as plt

    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial.png")
    try:
        fig.tight_layout()
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, target)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    log.info("wrote %s", target)
    return str(target)
