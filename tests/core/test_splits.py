"""Split bookkeeping (spec 2.3): files, samples, mixed; reproducible with a seed."""

from __future__ import annotations

import pytest

from napari_das.core.data.splits import apportion, assign_files, cut_recording, plan_splits
from napari_das.core.errors import DasError

SAMPLES = {"train": ("samples", 0.6), "val": ("samples", 0.2), "test": ("samples", 0.2)}
FILES = {"train": ("files", 0.6), "val": ("files", 0.2), "test": ("files", 0.2)}
MIXED = {"train": ("samples", 0.6), "val": ("samples", 0.2), "test": ("files", 0.2)}


def frames_of(n: int, base: int = 1000) -> dict[str, int]:
    return {f"rec{i:02d}": base + 37 * i for i in range(n)}


def test_apportion_largest_remainder():
    assert apportion(10, {"a": 0.6, "b": 0.2, "c": 0.2}) == {"a": 6, "b": 2, "c": 2}
    assert apportion(7, {"a": 0.5, "b": 0.5}) == {"a": 4, "b": 3}  # tie -> first group
    assert apportion(22, {"test": 0.2, "remainder": 0.8}) == {"test": 4, "remainder": 18}


def test_split_by_samples_cuts_every_recording_into_contiguous_pieces():
    frames = frames_of(5)
    plan = plan_splits(frames, SAMPLES, seed=3)
    assert set(plan.file_split_dict.values()) == {"remainder"}
    for stem, n in frames.items():
        ranges = sorted(r for rs in plan.data_splits[stem].values() for r in rs)
        # pieces tile [0, n) without gaps or overlaps
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        lengths = {s: r[0][1] - r[0][0] for s, r in plan.data_splits[stem].items()}
        for split, fraction in (("train", 0.6), ("val", 0.2), ("test", 0.2)):
            assert abs(lengths[split] - fraction * n) <= 1
    assert plan.lengths()["train"] + plan.lengths()["val"] + plan.lengths()["test"] == sum(
        frames.values())


def test_cut_points_are_truncated_cumulative_fractions():
    import numpy as np

    class Fixed:  # a generator whose permutation keeps the order
        def permutation(self, n):
            return np.arange(n)

    pieces = cut_recording(1001, {"train": 0.6, "val": 0.2, "test": 0.2}, Fixed())
    assert pieces == {"train": [0, 600], "val": [600, 800], "test": [800, 1001]}


def test_split_by_files_moves_whole_recordings():
    frames = frames_of(10)
    plan = plan_splits(frames, FILES, seed=5)
    groups = list(plan.file_split_dict.values())
    assert sorted(groups.count(s) for s in ("train", "val", "test")) == [2, 2, 6]
    assert groups.count("train") == 6
    assert plan.data_splits == {}
    for split, pieces in plan.pieces.items():
        for stem, start, stop in pieces:
            assert plan.file_split_dict[stem] == split
            assert (start, stop) == (0, frames[stem])


def test_mixed_split_renormalises_sample_fractions():
    frames = frames_of(10)
    plan = plan_splits(frames, MIXED, seed=7)
    tested = [s for s, g in plan.file_split_dict.items() if g == "test"]
    assert len(tested) == 2
    assert sorted(plan.file_split_dict.values()).count("remainder") == 8
    for stem, ranges in plan.data_splits.items():
        assert set(ranges) == {"train", "val"}
        n = frames[stem]
        train = ranges["train"][0][1] - ranges["train"][0][0]
        assert abs(train - 0.75 * n) <= 1  # 0.6 / (0.6 + 0.2)
    assert [p[0] for p in plan.pieces["test"]] == sorted(tested)  # recording order


def test_same_seed_same_plan_different_seed_different_plan():
    frames = frames_of(12)
    for splits in (SAMPLES, FILES, MIXED):
        first, again = plan_splits(frames, splits, seed=11), plan_splits(frames, splits, seed=11)
        assert first == again
        others = [plan_splits(frames, splits, seed=s) for s in (12, 13, 14)]
        assert any(o.pieces != first.pieces for o in others)


def test_missing_seed_is_drawn_and_recorded():
    frames = frames_of(6)
    plan = plan_splits(frames, MIXED, seed=None)
    assert isinstance(plan.seed, int) and plan.seed >= 0
    assert plan_splits(frames, MIXED, seed=plan.seed) == plan


def test_recording_pieces_are_positions_in_the_split_arrays():
    frames = {"a": 100, "b": 50, "c": 80}
    plan = plan_splits(frames, FILES | {"train": ("files", 0.4), "val": ("files", 0.3),
                                        "test": ("files", 0.3)}, seed=1)
    pieces = plan.recording_pieces()
    for split, rows in pieces.items():
        offset = 0
        for stem, start, stop in rows:
            assert start == offset and stop - start == frames[stem]
            offset = stop
        assert offset == plan.lengths()[split]


def test_too_few_recordings_for_the_file_groups_is_an_error():
    with pytest.raises(DasError, match="1 recording"):
        plan_splits({"only": 100}, MIXED, seed=0)
    groups = assign_files(["a", "b"], {"test": 0.2}, __import__("numpy").random.default_rng(0))
    assert sorted(groups.values()) == ["remainder", "test"]


def test_fractions_must_cover_everything_without_sample_splits():
    with pytest.raises(DasError, match="less than 1"):
        plan_splits(frames_of(4), {"train": ("files", 0.5), "val": ("files", 0.2),
                                   "test": ("samples", 0.0)}, seed=0)
