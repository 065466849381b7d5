"""Train/validation/test splits of a set of recordings (spec 2.3), reproducible with a seed.

Each split is taken either "by files" (whole recordings) or "by samples" (one contiguous piece of
every remaining recording). First the recordings are divided between the file splits and a
``remainder`` group; then every recording in the remainder is cut into one contiguous piece per
sample split, with the sample fractions renormalised to sum to 1 and the order of the pieces
permuted at random per recording.

Differences from DAS: one seeded generator drives every random choice (file assignment and the
per-recording piece order), so the same seed gives the same split for every split mode; the
number of recordings per file split is the fraction of the recordings rounded to the nearest
whole file (largest remainder), and a split with a positive fraction that would get no recording
is an error instead of a silently empty split.

Examples
--------
>>> plan = plan_splits({"a": 100, "b": 100}, {"train": ("samples", 0.75), "val": ("samples", 0.25),
...                    "test": ("samples", 0.0)}, seed=1)
>>> sorted(plan.data_splits["a"]), sum(b - a for a, b in plan.data_splits["a"]["train"])
(['train', 'val'], 75)
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import DasError
from ..io.store import SPLIT_NAMES

REMAINDER = "remainder"


def draw_seed() -> int:
    """A fresh random seed (recorded in the dataset so the split can be repeated)."""
    return secrets.randbelow(2**31)


@dataclass
class SplitPlan:
    """Where every sample of every recording goes.

    Attributes
    ----------
    seed : int
        The seed that produced the plan.
    file_split_dict : dict
        Recording stem -> split name, or ``"remainder"`` (split by samples).
    data_splits : dict
        Recording stem -> {split name: [[start, stop], ...]} sample ranges in the recording
        (DAS's ``data_splits`` attribute; only recordings split by samples).
    pieces : dict
        Split name -> list of ``(stem, start, stop)`` ranges in the recordings, in recording order.
    """

    seed: int
    file_split_dict: dict[str, str] = field(default_factory=dict)
    data_splits: dict[str, dict[str, list[list[int]]]] = field(default_factory=dict)
    pieces: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)

    def lengths(self) -> dict[str, int]:
        """Total samples per split."""
        return {s: sum(b - a for _, a, b in p) for s, p in self.pieces.items()}

    def recording_pieces(self) -> dict[str, list[list]]:
        """Split -> ``[[stem, start, stop], ...]`` positions of the pieces inside the split arrays."""
        out: dict[str, list[list]] = {}
        for split, pieces in self.pieces.items():
            offset, rows = 0, []
            for stem, start, stop in pieces:
                rows.append([stem, offset, offset + stop - start])
                offset += stop - start
            out[split] = rows
        return out


def apportion(total: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Divide ``total`` items between groups in proportion to ``fractions`` (largest remainder).

    Examples
    --------
    >>> apportion(10, {"train": 0.6, "test": 0.25, "remainder": 0.15})
    {'train': 6, 'test': 3, 'remainder': 1}
    """
    weight = sum(fractions.values())
    ideal = {k: total * v / weight for k, v in fractions.items()}
    counts = {k: int(math.floor(v + 1e-9)) for k, v in ideal.items()}
    left = total - sum(counts.values())
    order = sorted(fractions, key=lambda k: (-(ideal[k] - counts[k]), list(fractions).index(k)))
    for k in order[:left]:
        counts[k] += 1
    return counts


def assign_files(stems: list[str], file_fractions: Mapping[str, float],
                 rng: np.random.Generator) -> dict[str, str]:
    """Assign whole recordings to the file splits and to ``remainder``.

    Parameters
    ----------
    stems : list of str
        Recording names, in a fixed order.
    file_fractions : mapping
        Split name -> fraction of the recordings, for the splits taken by files (zero fractions
        are ignored). If they add up to less than 1, the rest goes to ``remainder``.
    rng : numpy.random.Generator
        Source of the random permutation.

    Returns
    -------
    dict
        stem -> split name or ``"remainder"``.
    """
    groups = {k: float(v) for k, v in file_fractions.items() if v > 0}
    rest = 1 - sum(groups.values())
    if rest > 1e-9:
        groups[REMAINDER] = rest
    if not groups:
        return {}
    counts = apportion(len(stems), groups)
    # every group with a positive fraction gets a recording if others can spare one
    for name in [g for g in groups if counts[g] == 0]:
        donor = max(counts, key=lambda g: counts[g])
        if counts[donor] <= 1:
            needed = len(groups)
            raise DasError(f"{len(stems)} recording(s) cannot be divided into {needed} groups "
                           f"({', '.join(groups)}): add recordings or split "
                           f"{'them' if name == REMAINDER else name} by samples")
        counts[donor] -= 1
        counts[name] += 1
    labels = np.array([g for g in groups for _ in range(counts[g])], dtype=object)
    labels = labels[rng.permutation(len(labels))]
    return dict(zip(stems, labels.tolist()))


def cut_recording(frames: int, sample_fractions: Mapping[str, float],
                  rng: np.random.Generator) -> dict[str, list[int]]:
    """Cut ``frames`` samples into one contiguous piece per split, in a random order.

    Fractions are renormalised to sum to 1; cut points are ``int(cumulative_fraction * frames)``.
    """
    names = [k for k, v in sample_fractions.items() if v > 0]
    weights = np.array([sample_fractions[k] for k in names], dtype=float)
    weights /= weights.sum()
    order = rng.permutation(len(names))
    cumulative = np.cumsum(weights[order])
    cuts = [0] + [int(c * frames) for c in cumulative[:-1]] + [int(frames)]
    return {names[i]: [cuts[j], cuts[j + 1]] for j, i in enumerate(order)}


def plan_splits(frames: Mapping[str, int], splits: Mapping[str, tuple[str, float]],
                seed: int | None = None) -> SplitPlan:
    """Decide which samples of which recording go to train, val and test.

    Parameters
    ----------
    frames : mapping
        Recording stem -> number of samples (at the dataset rate), in recording order.
    splits : mapping
        Split name -> ``(mode, fraction)`` with mode ``"files"`` or ``"samples"``.
    seed : int, optional
        Seed of the random choices; drawn at random if None (see :attr:`SplitPlan.seed`).

    Returns
    -------
    SplitPlan
    """
    if seed is None:
        seed = draw_seed()
    rng = np.random.default_rng(int(seed))
    stems = list(frames)
    file_fractions = {s: f for s, (mode, f) in splits.items() if mode == "files"}
    sample_fractions = {s: f for s, (mode, f) in splits.items() if mode == "samples" and f > 0}
    if file_fractions and sum(file_fractions.values()) > 1 + 1e-9:
        raise DasError("the fractions split by files add up to more than 1: lower them")
    if sum(file_fractions.values()) < 1 - 1e-9 and not sample_fractions:
        raise DasError("the split fractions add up to less than 1 and no split takes samples: "
                       "make the fractions add up to 1")
    if file_fractions:
        file_split_dict = assign_files(stems, file_fractions, rng)
    else:
        file_split_dict = {stem: REMAINDER for stem in stems}
    plan = SplitPlan(seed=int(seed), file_split_dict=file_split_dict,
                     pieces={s: [] for s in SPLIT_NAMES})
    for split in splits:
        plan.pieces.setdefault(split, [])
    for stem in stems:
        group = file_split_dict.get(stem, REMAINDER)
        if group != REMAINDER:
            plan.pieces[group].append((stem, 0, int(frames[stem])))
            continue
        ranges = cut_recording(int(frames[stem]), sample_fractions, rng)
        plan.data_splits[stem] = {s: [r] for s, r in ranges.items()}
        for split in plan.pieces:
            if split in ranges and ranges[split][1] > ranges[split][0]:
                plan.pieces[split].append((stem, *ranges[split]))
    return plan
