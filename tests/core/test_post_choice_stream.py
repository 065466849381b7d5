"""The post-processing choice read in blocks chooses and scores exactly as on whole arrays."""

from __future__ import annotations

import numpy as np
import pytest
from post_choice_whole import choose_postprocessing as whole_choice

from napari_das.core.evaluation.post_choice import PostChoice, choose_postprocessing
from napari_das.core.post.run_stream import MergedRuns
from napari_das.core.post.segments import RunTable, label_segments

FS = 1000.0
NAMES = ["noise", "a", "b", "pulse"]
TYPES = ["segment", "segment", "segment", "event"]
PARAMS = {"class_names": NAMES, "class_types": TYPES, "samplerate_x_Hz": FS}
GAPS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05)
LENS = (0.0, 0.002, 0.005, 0.01, 0.03)
DISTS = (0.001, 0.005, 0.02)


def _feed(runs: MergedRuns, labels, probs, cuts) -> dict:
    edges = [0, *cuts, len(labels)]
    for a, b in zip(edges[:-1], edges[1:]):
        runs.push(labels[a:b], None if probs is None else probs[a:b])
    return runs.finish()


def test_merged_runs_golden_across_block_edges():
    # runs 1-2 (a) and 4-5 (b) with a 1-sample gap, cut at 3 and inside the run at 5
    labels = np.array([0, 1, 1, 0, 2, 2, 0, 0, 0, 2, 2])
    probs = np.zeros((11, 3), np.float32)
    probs[np.arange(11), labels] = 1.0
    probs[4:6] = [0.0, 0.75, 0.25]  # b's samples lean to a: the tie a/b goes to a
    for cuts in ([], [3], [3, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]):
        out = _feed(MergedRuns(3, [0, 2, 4], True), labels, probs, cuts)
        assert [x.tolist() for x in out[0]] == [[1, 4, 9], [2, 5, 10], [1, 2, 2]]
        assert [x.tolist() for x in out[2]] == [[1, 9], [5, 10], [1, 2]]
        assert [x.tolist() for x in out[4]] == [[1], [10], [2]]  # 2 x a, 4 x b
    # gap 2 merges a a . b b: 2 x a, 2 x b; the sums decided for a above, here they favour b
    # (a 1.2, b 2.8); without probabilities the tie goes to the lower index, a
    probs[1:3], probs[4:6] = [0.0, 0.6, 0.4], [0.0, 0.0, 1.0]
    assert _feed(MergedRuns(3, [2], True), labels, probs, [2, 5])[2][2].tolist() == [2, 2]
    assert _feed(MergedRuns(3, [2], False), labels, None, [2, 5])[2][2].tolist() == [1, 2]


def test_merged_runs_equal_run_table_on_random_traces():
    rng = np.random.default_rng(0)
    for trial in range(150):
        n, k = int(rng.integers(1, 600)), int(rng.integers(2, 6))
        p = rng.random((n, k)).astype(np.float32) ** 3
        p /= p.sum(axis=1, keepdims=True)
        if trial % 3 == 0:  # quarter steps: exact ties of counts and of sums
            p = (np.round(p * 4) / 4).astype(np.float32)
        labels = label_segments(p, list(range(1, k)), float(rng.choice([0.2, 0.4, 0.6])))
        with_probs = trial % 2 == 0
        cuts = sorted(rng.choice(np.arange(1, n), size=min(n - 1, int(rng.integers(0, 9))),
                                 replace=False).tolist()) if n > 1 else []
        gaps = [0, 1, 2, 3, 5, 8, 50]
        out = _feed(MergedRuns(k, gaps, with_probs), labels, p if with_probs else None, cuts)
        table = RunTable(labels.astype(np.int64), k, p if with_probs else None)
        for g in gaps:
            ref = table.merged(g, 0)
            got = dict(zip(("start", "stop", "label"), out[g]))
            for key in got:
                assert np.array_equal(ref[key], got[key]), (trial, g, key)


def _synthetic(seed: int, n: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    """Targets and a noisy, fragmented prediction: syllables a/b and pulses."""
    rng = np.random.default_rng(seed)
    y = np.zeros((n, 4), np.float32)
    t = int(rng.integers(0, 30))
    while t < n:
        length = int(rng.integers(15, 120))
        y[t:t + length, int(rng.integers(1, 3))] = 1
        t += length + int(rng.integers(4, 60))
    for c in rng.integers(0, n, size=n // 300):
        y[max(c - 3, 0):c + 4, 3] = np.exp(-0.5 * (np.arange(max(c - 3, 0), min(c + 4, n)) - c)
                                           ** 2)[: min(c + 4, n) - max(c - 3, 0)]
    y[:, 0] = np.clip(1 - y[:, 1:].sum(axis=1), 0, 1)
    p = y + rng.normal(0, 0.25, y.shape).astype(np.float32)
    p = np.clip(p, 0, None)
    holes = rng.integers(0, n, size=n // 50)
    for h in holes:
        p[h:h + int(rng.integers(1, 6)), 1:3] = 0
    p = (p / np.maximum(p.sum(axis=1, keepdims=True), 1e-6)).astype(np.float32)
    return y, p


def _streamed(p, y, params, boundaries, block, **kw):
    choice = PostChoice(params, **kw)
    pieces = [(0, len(y))] if not boundaries else boundaries
    done = 0
    for a, b in pieces:
        if a > done:
            choice.push(None, done, y[done:a], p[done:a])
        for start in range(a, b, block):
            stop = min(start + block, b)
            choice.push(a, start, y[start:stop], p[start:stop])
        done = b
    if done < len(y):
        choice.push(None, done, y[done:], p[done:])
    return choice.result()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("boundaries", [None, [(0, 2500), (2500, 4100), (4300, 6000)]])
def test_streamed_choice_equals_whole_array_choice(seed, boundaries):
    y, p = _synthetic(seed)
    kw = dict(tolerance=0.01, fill_gaps=GAPS, min_lens=LENS, event_dists=DISTS)
    ref = whole_choice(p, y, PARAMS, boundaries, **kw)
    assert ref["event_dist"] in DISTS and ref["min_len"] in LENS  # a real choice was made
    for block in (97, 1000, 1 << 16):  # segments and events cross many block edges
        got = _streamed(p, y, PARAMS, boundaries, block, **kw)
        assert got == ref, (block, got, ref)
        assert [type(v) for v in got.values()] == [type(v) for v in ref.values()]
    assert choose_postprocessing(p, y, PARAMS, boundaries, **kw) == ref


def test_streamed_choice_hand_made_fragments_across_edges():
    # two 100-ms syllables broken by 3-ms holes, 2-ms specks; blocks of 7 samples cut them all
    y = np.zeros((1000, 3), np.float32)
    y[:, 0] = 1
    for a, b, c in ((100, 200, 1), (400, 500, 2)):
        y[a:b, 0], y[a:b, c] = 0, 1
    p = y.copy()
    for hole in (130, 160, 430, 470):
        p[hole:hole + 3] = [1, 0, 0]
    for speck in (300, 700, 800):
        p[speck:speck + 2] = [0, 1, 0]
    params = {"class_names": ["noise", "a", "b"], "class_types": ["segment"] * 3,
              "samplerate_x_Hz": FS}
    ref = whole_choice(p, y, params)
    got = _streamed(p, y, params, None, 7)
    assert got == ref
    assert (got["gap_dur"], got["min_len"], got["score_val"]) == (0.005, 0.005, 1.0)


def test_pruned_candidates_do_not_change_the_choice():
    # a prediction full of specks: most candidates have far more syllables than the truth, so
    # their error rate is bounded (>= 1) and the edit distance is skipped
    rng = np.random.default_rng(5)
    y, _ = _synthetic(7)
    p = y.copy()
    specks = rng.integers(0, len(y) - 2, size=400)
    for s in specks:
        p[s, :3] = [0, 0, 1]
    params = {**PARAMS, "class_types": ["segment"] * 4}
    kw = dict(fill_gaps=GAPS, min_lens=LENS)
    ref = whole_choice(p, y, params, **kw)
    assert _streamed(p, y, params, None, 333, **kw) == ref
