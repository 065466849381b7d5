"""Prediction: exact stitching of long windows, coverage of every sample, streaming."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.config import NetworkConfig
from napari_das.core.inference import predict as P
from napari_das.core.inference import runner as R
from napari_das.core.inference import windows as W

PLAIN = NetworkConfig(nb_hist=256, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2, 4])
STFT = NetworkConfig(nb_hist=256, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2],
                     nb_pre_conv=2, pre_nb_dft=16)


@pytest.fixture(scope="module", params=["plain", "stft"])
def model_and_params(request):
    from napari_das.core.nn.model import build_model

    network = PLAIN if request.param == "plain" else STFT
    model = build_model(network, nb_channels=2, nb_classes=3, compile=False)
    return model, network.to_dict()


def test_reflect_indices_fold_back_into_range():
    index = np.arange(-5, 9)
    assert W._reflect_indices(index, 4).tolist() == [1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert W._reflect_indices(index, 1).tolist() == [0] * 14


def test_read_padded_equals_numpy_reflect_pad(rng):
    x = rng.normal(size=(7, 2)).astype(np.float32)
    padded = np.pad(x, ((9, 9), (0, 0)), mode="reflect")
    for start, stop in [(-9, 16), (-3, 2), (2, 5), (4, 16), (-9, -2)]:
        got = W.read_padded(lambda a, b: x[a:b], len(x), start, stop)
        np.testing.assert_array_equal(got, padded[start + 9: stop + 9])


def test_window_plan_margins_cover_receptive_field_and_align_to_hop():
    plan = W.window_plan(STFT, window=100)
    assert plan.window % 4 == 0 and plan.margin_past % 4 == 0 and plan.margin_future % 4 == 0
    assert plan.margin_past + plan.margin_future >= STFT.receptive_field - 1
    assert plan.core > 0
    default = W.window_plan(PLAIN)
    assert default.window >= 8 * PLAIN.nb_hist  # much longer than the training chunk


@pytest.mark.parametrize("frames", [1, 5, 37, 1001, 3333])
def test_one_piece_equals_blocks_and_covers_every_sample(model_and_params, frames, rng):
    model, params = model_and_params
    x = rng.normal(size=(frames, 2)).astype(np.float32)
    whole = P.predict_probabilities(model, x, params, window=4 * frames + 256)
    blocks = P.predict_probabilities(model, x, params, window=64, batch_size=3)
    assert whole.shape == blocks.shape == (frames, 3)
    np.testing.assert_allclose(blocks, whole, atol=1e-5)
    np.testing.assert_allclose(whole.sum(axis=1), 1.0, atol=1e-5)  # softmax everywhere


def test_matches_direct_model_call_on_reflect_padded_audio(model_and_params, rng):
    model, params = model_and_params
    x = rng.normal(size=(1001, 2)).astype(np.float32)
    pad = 200  # more than the receptive field, a multiple of the hop
    padded = np.pad(x, ((pad, 1224 - 1001), (0, 0)), mode="reflect")
    reference = model(padded[None]).numpy()[0, pad: pad + 1001]
    got = P.predict_probabilities(model, x, params, window=64, batch_size=2)
    np.testing.assert_allclose(got, reference, atol=1e-5)
    assert got.std(axis=0).min() > 1e-4  # the model output varies, so the check is not vacuous


def test_streamed_blocks_tile_the_recording(model_and_params, rng):
    model, params = model_and_params
    x = rng.normal(size=(2049, 2)).astype(np.float32)
    runner = R.make_runner(model, params, batch_size=2, window=64)
    reads = []

    def read(a, b):
        reads.append((a, b))
        return x[a:b]

    starts, total = [], 0
    records = []
    for start, block in R.iter_probabilities(runner, read, len(x), progress=records.append):
        starts.append(start)
        assert start == total
        total += len(block)
    assert total == len(x) and len(starts) > 3
    assert max(b - a for a, b in reads) < len(x)  # never reads the whole recording at once
    assert records[0].event == "start" and records[-1].current == len(x)


def test_runners_are_cached_per_model_and_go_with_it():
    import gc
    import weakref

    from napari_das.core.nn.model import build_model

    params = PLAIN.to_dict()
    model = build_model(PLAIN, nb_channels=1, nb_classes=2, compile=False)
    first = R.make_runner(model, params, batch_size=2, window=64)
    assert R.make_runner(model, params, batch_size=2, window=64) is first  # traced once
    assert R.make_runner(model, params, batch_size=3, window=64) is not first
    other = build_model(PLAIN, nb_channels=1, nb_classes=2, compile=False)
    assert R.make_runner(other, params, batch_size=2, window=64) is not first
    assert first.model is model and model in R._RUNNERS
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None  # the cache does not keep the model (and its runners) alive
    assert first.model is None and other in R._RUNNERS


def test_wrong_channel_count_is_one_line_error(model_and_params, rng):
    from napari_das.core.errors import DasError

    model, params = model_and_params
    with pytest.raises(DasError, match="channel"):
        P.predict_probabilities(model, rng.normal(size=(100, 1)), params)


#: Chunks (64) shorter than the receptive field (1 + 7 * 31 = 218): trained on zero padding.
SHORT = NetworkConfig(nb_hist=64, nb_filters=8, kernel_size=8, nb_conv=1,
                      dilations=[1, 2, 4, 8, 16])


def test_short_chunk_network_is_planned_in_its_training_geometry():
    assert SHORT.margin_capped and SHORT.predicts_in_chunks
    assert SHORT.data_padding == 8  # DAS's kernel_size * nb_conv: no margin can hold the field
    assert SHORT.das_stride == SHORT.stride == 48
    assert not PLAIN.predicts_in_chunks and not STFT.predicts_in_chunks
    assert W.window_plan(SHORT, training_windows=False).window >= 8192  # long windows
    plan = W.window_plan(SHORT, window=10_000)  # default: its training chunks, window ignored
    assert (plan.window, plan.margin_past, plan.margin_future) == (64, 8, 8)
    assert plan.core == 48
    # the margin the model was trained with (params) wins over today's derivation
    assert W.window_plan(SHORT, data_padding=16).core == 32
    with pytest.raises(Exception, match="does not fit"):
        W.window_plan(SHORT, data_padding=40)
    # a network whose chunks hold its receptive field keeps long windows
    assert W.window_plan(PLAIN, training_windows=True) == W.window_plan(PLAIN)


def test_short_chunk_network_outputs_equal_its_training_chunks(rng):
    """Golden: every kept sample is the model's output on the training chunk around it."""
    from napari_das.core.nn.model import build_model

    model = build_model(SHORT, nb_channels=1, nb_classes=2, compile=False)
    x = rng.normal(size=(300, 1)).astype(np.float32)
    got = P.predict_probabilities(model, x, SHORT.to_dict(), batch_size=3)  # the default
    padded = np.pad(x, ((8, 64), (0, 0)), mode="reflect")  # margins, reflect like the reader
    for j in range(0, 300, 48):  # chunk j covers padded[j : j + 64], keeps its middle 48
        expect = model(padded[None, j: j + 64]).numpy()[0, 8:56]
        n = min(48, 300 - j)
        np.testing.assert_allclose(got[j: j + n], expect[:n], atol=1e-5)
    long = model(np.pad(x, ((300, 300), (0, 0)), mode="reflect")[None]).numpy()[0, 300:600]
    assert np.abs(got - long).max() > 1e-3  # a long window gives other outputs...
    forced = P.predict_probabilities(model, x, SHORT.to_dict(), training_windows=False)
    np.testing.assert_allclose(forced, long, atol=1e-5)  # ...with --no-training-windows
