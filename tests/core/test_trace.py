"""Decimated probability traces (the viewer's per-class trace under the spectrogram)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_das.core.errors import DasError
from napari_das.core.inference.trace import (
    MAX_VALUES,
    ProbabilityTrace,
    TraceRecorder,
    read_trace,
    trace_of_file,
    write_trace,
)

ROOT = Path(__file__).resolve().parents[2]
MODELS = next((p / "das_models" for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared")
               if (p / "das_models" / "tcn_model.h5").is_file()), None)


def reference(probabilities: np.ndarray, factor: int) -> np.ndarray:
    bins = -(-len(probabilities) // factor)
    padded = np.zeros((bins * factor, probabilities.shape[1]), probabilities.dtype)
    padded[: len(probabilities)] = probabilities
    peak = padded.reshape(bins, factor, -1).max(axis=1)
    return np.clip(np.rint(peak * 255), 0, 255).astype(np.uint8)


def test_blocks_of_any_size_and_order_give_the_bin_maxima(rng):
    probabilities = rng.random((10_007, 3)).astype(np.float32)
    recorder = TraceRecorder(len(probabilities), 32000.0, ["noise", "a", "b"])
    assert recorder.factor == 32 and recorder.rate == 1000.0
    cuts = np.sort(rng.choice(np.arange(1, len(probabilities)), 40, replace=False))
    blocks = list(zip(np.r_[0, cuts], np.split(probabilities, cuts)))
    for index in rng.permutation(len(blocks)):  # blocks split bins, arrive in any order
        recorder.push(int(blocks[index][0]), blocks[index][1])
    trace = recorder.result()
    np.testing.assert_array_equal(trace.values, reference(probabilities, 32))
    np.testing.assert_allclose(trace.probabilities("a"), trace.values[:, 1] / 255)


def test_memory_is_bounded_for_long_recordings():
    hour = 3600 * 32000
    recorder = TraceRecorder(hour, 32000.0, [f"c{i}" for i in range(40)])
    assert recorder.values.nbytes <= MAX_VALUES and recorder.values.dtype == np.uint8
    assert recorder.rate < 1000.0  # coarser than a millisecond to stay within the bound
    short = TraceRecorder(8 * 32000, 32000.0, ["noise", "a"])
    assert short.rate == 1000.0 and short.values.shape == (8000, 2)


def test_columns_follow_the_view_zoomed_out_and_in():
    values = np.zeros((1000, 2), np.uint8)
    values[500, 1] = 255  # one bin at 0.5 s (1 ms bins)
    trace = ProbabilityTrace(values, 1000.0, ["noise", "a"])
    wide = trace.columns(0.0, 1.0, 100)  # 10 bins a column: the peak survives
    assert wide[50, 1] == 1.0 and np.count_nonzero(wide[:, 1]) == 1
    narrow = trace.columns(0.4995, 0.5015, 20)  # a bin spans several columns
    assert np.count_nonzero(narrow[:, 1] == 1.0) >= 5
    outside = trace.columns(-1.0, -0.5, 10)
    assert np.isnan(outside).all()
    last = trace.columns(0.9, 1.0, 7)  # the last column ends at the trace's end
    assert np.isfinite(last).all()


def test_patched_replaces_a_range_and_round_trips(tmp_path):
    whole = ProbabilityTrace(np.zeros((100, 2), np.uint8), 100.0, ["noise", "a"], ["segment",
                             "segment"])
    part = ProbabilityTrace(np.full((10, 2), 7, np.uint8), 100.0, ["noise", "a"], offset=0.2)
    merged = whole.patched(part)
    assert merged.values[20:30].tolist() == [[7, 7]] * 10 and merged.values[:20].max() == 0
    assert whole.values.max() == 0  # the original is not changed
    other = ProbabilityTrace(np.ones((5, 2), np.uint8), 50.0, ["noise", "a"])
    assert whole.patched(other) is other
    write_trace(tmp_path / "t.npz", merged)
    back = read_trace(tmp_path / "t.npz")
    np.testing.assert_array_equal(back.values, merged.values)
    assert (back.rate, back.class_names, back.class_types) == (100.0, ["noise", "a"],
                                                               ["segment", "segment"])
    (tmp_path / "bad.npz").write_text("no")
    with pytest.raises(DasError, match="not a probability trace"):
        read_trace(tmp_path / "bad.npz")


@pytest.mark.skipif(MODELS is None, reason="DAS reference models not found")
def test_trace_of_a_file_equals_the_decimated_probabilities(tmp_path):
    from napari_das.core.inference.predict import predict_file
    from napari_das.core.nn.model import load_model_and_params

    golden = np.load(MODELS / "tcn_golden.npz")
    np.savez(tmp_path / "snippet.npz", data=golden["x"], samplerate=golden["samplerate"])
    model, params = load_model_and_params(str(MODELS / "tcn"))
    full = predict_file(str(tmp_path / "snippet.npz"), model, params, keep_probabilities=True)
    prediction, trace = trace_of_file(str(tmp_path / "snippet.npz"), model, params)
    factor = int(round(prediction.samplerate / trace.rate))
    np.testing.assert_array_equal(trace.values, reference(full.probabilities, factor))
    assert prediction.summary() == full.summary()
    assert trace.class_names == list(params["class_names"])
