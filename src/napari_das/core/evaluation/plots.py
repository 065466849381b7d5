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


def save_evaluation_plots(stem: str | os.PathLike, x: np.ndarray, y: np.ndarray,
                          probabilities: np.ndarray, confusion: Any, class_names: list[str],
                          samplerate: float, excerpt_seconds: float = 2.0) -> list[str]:
    """Write the three figures and return their paths.

    Parameters
    ----------
    stem : str or os.PathLike
        Model save name; figures are ``<stem>_confusion.png`` etc.
    x, y, probabilities : arrays ``[T, C]``, ``[T, K]``, ``[T, K]``
        Test audio, targets and predicted probabilities, aligned sample for sample.
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
    labels = np.argmax(y, axis=1)
    for k, name in enumerate(class_names[1:], start=1):
        precision, recall = precision_recall_curve(probabilities[:, k], labels == k)
        (line,) = ax.plot(THRESHOLDS, precision, "-", label=f"{name} precision")
        ax.plot(THRESHOLDS, recall, "--", color=line.get_color(), label=f"{name} recall")
    ax.set_xlabel("probability threshold")
    ax.set_ylim(0, 1.02)
    ax.set_title("sample-wise precision and recall vs threshold")
    ax.legend(fontsize=7, ncol=2)
    written.append(_save(fig, f"{stem}_precision_recall.png"))

    length = min(len(x), max(1, int(excerpt_seconds * samplerate)))
    start = _densest_start(labels > 0, length)
    t = (start + np.arange(length)) / samplerate
    fig, axes = plt.subplots(3, 1, figsize=(9, 5), sharex=True)
    axes[0].plot(t, x[start:start + length, 0], lw=0.5, color="k")
    axes[0].set_ylabel("audio")
    for k, name in enumerate(class_names[1:], start=1):
        axes[1].plot(t, y[start:start + length, k], lw=1, label=name)
        axes[2].plot(t, probabilities[start:start + length, k], lw=1, label=name)
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
