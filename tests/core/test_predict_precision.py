"""Prediction in float32 or bfloat16 (``das predict --precision``): the model runner's fast
convolutions, the per-shape check of TensorFlow's bfloat16 convolution, and the fall-back."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from das_files import DAS_MODELS  # noqa: E402

from napari_das.core.config import NetworkConfig, PredictionConfig  # noqa: E402
from napari_das.core.inference import predict as P  # noqa: E402
from napari_das.core.inference import runner as R  # noqa: E402
from napari_das.core.nn import fastconv  # noqa: E402
from napari_das.core.nn import precision as PR  # noqa: E402
from napari_das.core.nn.precision import cpu_has_amx, cpu_has_fast_bfloat16, resolve_precision  # noqa: E402,E501

# 64 frames per training chunk (hop 4): the d=16 layers skip taps that only read padding
WIDE = NetworkConfig(nb_hist=256, nb_filters=32, kernel_size=16, nb_conv=1, nb_pre_conv=2,
                     pre_nb_dft=16, dilations=[1, 2, 4, 8, 16])
# 8 filters: TensorFlow 2.21's bfloat16 convolution is wrong for most of these layers on AMX
NARROW = WIDE.replace(nb_filters=8, kernel_size=32)


def _model(network, seed=3):
    import keras

    from napari_das.core.nn.model import build_model

    keras.utils.set_random_seed(seed)
    return build_model(network, nb_channels=1, nb_classes=3, compile=False)


@pytest.fixture(scope="module")
def wide():
    return _model(WIDE), WIDE.to_dict()


def _windows(runner, n, seed=0):
    rng = np.random.default_rng(seed)
    return (0.3 * rng.normal(size=(n, runner.plan.window, 1))).astype(np.float32)


def test_float32_runner_equals_the_plain_model_call_and_leaves_the_model_alone(wide):
    model, params = wide
    runner = R.make_runner(model, params, batch_size=4)
    assert runner.precision == "float32" and runner.plan.window == 256
    x = _windows(runner, 5)
    for n in (4, 3, 1):  # full and partial calls
        np.testing.assert_allclose(runner(x[:n]), model(x[:n], training=False).numpy(),
                                   rtol=1e-5, atol=1e-6)
    # the fast convolutions ran (static 64 frames: taps reading only padding are skipped)
    assert runner.convolutions.shapes == [(64, 32, 32, 16, d) for d in (1, 2, 4, 8, 16)]
    assert fastconv._tap_range(64, 16, 16, 120) == (4, 12)
    # installed only while tracing: the model object is untouched
    assert not [layer.name for layer in model.layers if "call" in vars(layer)]


def test_bfloat16_probabilities_are_close_to_float32(wide, rng):
    model, params = wide
    x = 0.3 * rng.normal(size=(20000, 1)).astype(np.float32)
    p32 = P.predict_probabilities(model, x, params, batch_size=8)
    p16 = P.predict_probabilities(model, x, params, batch_size=8, precision="bfloat16")
    runner = R.make_runner(model, params, batch_size=8, precision="bfloat16")
    if cpu_has_fast_bfloat16():  # 32 channels: TensorFlow's bfloat16 kernels are right here
        assert runner.low_precision_layers() == (5, 5)
    diff = np.abs(p16 - p32).max()
    assert diff <= 0.02  # measured 0.0055 (32 filters, 10 layers, untrained)
    if runner.low_precision_layers()[0]:
        assert diff > 1e-5  # bfloat16 really ran
    np.testing.assert_allclose(p16.sum(axis=1), 1.0, atol=1e-5)


def test_runners_are_cached_per_precision(wide):
    model, params = wide
    f32 = R.make_runner(model, params, batch_size=2)
    b16 = R.make_runner(model, params, batch_size=2, precision="bfloat16")
    assert f32 is not b16 and (f32.precision, b16.precision) == ("float32", "bfloat16")
    assert R.make_runner(model, params, batch_size=2, precision="bfloat16") is b16
    auto = R.make_runner(model, params, batch_size=2, precision="auto")
    assert auto is (b16 if resolve_precision("auto") == "bfloat16" else f32)


def test_partial_calls_are_padded_and_unchecked_shapes_run_in_float32(wide, monkeypatch):
    # the numeric check decides per exact shape, windows per call included: pretend that only
    # full calls of 8 windows pass it
    model, params = wide
    checked = []

    def only_full_calls(batch, *shape):
        checked.append(batch)
        return batch == 8

    monkeypatch.setattr(fastconv, "forward_low_precision_ok", only_full_calls)
    monkeypatch.setattr(R, "_RUNNERS", type(R._RUNNERS)())
    low = R.make_runner(model, params, batch_size=8, precision="bfloat16")
    high = R.make_runner(model, params, batch_size=8)
    assert [low.call_size(n) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]
    x = _windows(low, 8, seed=1)
    full = low(x)
    assert 1e-5 < np.abs(full - high(x)).max() <= 0.02
    part = low(x[:3])  # 3 -> 4 windows: not checked, so float32
    np.testing.assert_allclose(part, high(x[:3]), rtol=1e-5, atol=1e-6)
    five = low(x[:5])  # 5 -> 8 windows (zero padded): bfloat16, same as in the full call
    np.testing.assert_allclose(five, full[:5], atol=1e-6)
    assert sorted(set(checked)) == [4, 8] and low.low_precision_layers(3) == (0, 5)


@pytest.mark.skipif(not cpu_has_amx(), reason="the bug is TensorFlow's on AMX CPUs")
def test_shapes_tensorflow_gets_wrong_in_bfloat16_keep_float32():
    # measured on Sapphire Rapids with TensorFlow 2.21: 8 channels, kernel 32, undilated, is
    # garbage in bfloat16 (relative error ~1) at any number of windows
    model = _model(NARROW)
    params = NARROW.to_dict()
    runner = R.make_runner(model, params, batch_size=8, precision="bfloat16")
    flags = runner.flags(8)
    assert runner.convolutions.shapes[0] == (64, 8, 8, 32, 1) and not flags[0]
    assert fastconv.check_low_precision(8, 64, 8, 8, 32, 1, gradients=False) > 0.5
    x = _windows(runner, 8, seed=2)
    want = R.make_runner(model, params, batch_size=8)(x)
    checked = runner(x)
    forced = runner._call_low(x, np.ones_like(flags)).numpy()  # every layer in bfloat16

    def error(p):
        return float(np.abs(p - want).mean())

    assert error(forced) > 10 * error(checked)
    np.testing.assert_allclose(runner._call_low(x, np.zeros_like(flags)).numpy(), want,
                               rtol=1e-5, atol=1e-6)


def test_forward_check_without_gradients():
    assert fastconv.check_low_precision(4, 64, 32, 32, 32, 4, gradients=False) < 0.01
    assert fastconv.forward_low_precision_ok(4, 64, 32, 32, 32, 4)


@pytest.mark.parametrize("name", ["tcn", "stft", "multi_sep"])
def test_das_models_in_bfloat16_stay_close(name):
    # models trained by DAS (16 filters), run in DAS's chunk layout
    if not (DAS_MODELS / f"{name}_model.h5").is_file():
        pytest.skip(f"DAS reference models not found at {DAS_MODELS}")
    from napari_das.core.nn.model import load_model_and_params

    golden = np.load(DAS_MODELS / f"{name}_golden.npz")
    model, params = load_model_and_params(str(DAS_MODELS / name))
    out = {}
    for precision in ("float32", "bfloat16"):
        config = PredictionConfig(precision=precision)
        out[precision] = P.predict(golden["x"], float(golden["samplerate"]), (model, params),
                                   config).probabilities
    expected = golden["probabilities"]
    covered = expected.sum(axis=1) > 0.5
    # float32 still reproduces DAS, bfloat16 is within 0.02 (measured 0.003-0.010)
    assert np.abs(out["float32"][: len(expected)][covered] - expected[covered]).max() <= 1e-4
    assert np.abs(out["bfloat16"] - out["float32"]).max() <= 0.02


def test_precision_option_is_checked():
    import dataclasses
    import hashlib
    import json

    from napari_das.core.errors import DasError
    from napari_das.core.inference.run_manifest import settings_digest
    from napari_das.core.nn.precision import PRECISIONS

    field = {f.name: f for f in dataclasses.fields(PredictionConfig)}["precision"]
    assert field.metadata["choices"] == PRECISIONS  # the config stage cannot import nn
    assert PredictionConfig().precision == "float32"
    assert PredictionConfig(precision="bfloat16").validated().precision == "bfloat16"
    with pytest.raises(DasError, match="--precision must be one of float32, bfloat16, auto"):
        PredictionConfig(precision="half").validated()
    # the default leaves a batch run's settings digest as it was before the option existed
    digest = settings_digest(PredictionConfig(), "csv", False)
    values = PredictionConfig().to_dict()
    del values["precision"]
    old = json.dumps({"config": values, "save_format": "csv", "probabilities": False},
                     sort_keys=True, default=str)
    assert digest == hashlib.sha256(old.encode()).hexdigest()[:12]
    assert settings_digest(PredictionConfig(precision="bfloat16"), "csv", False) != digest


@pytest.mark.parametrize("flags, want", [
    ({"avx2", "amx_bf16", "avx512_bf16"}, "bfloat16"),  # Intel Sapphire Rapids
    ({"avx2", "avx512f", "avx512_bf16"}, "bfloat16"),   # AMD Zen 4 EPYC (no AMX)
    ({"avx2", "avx512f"}, "float32"),                   # no native bfloat16
    (set(), "float32"),                                 # flags unknown (not Linux)
])
def test_auto_chooses_bfloat16_where_the_cpu_multiplies_it(monkeypatch, flags, want):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("auto follows the GPU here")
    monkeypatch.setattr(PR, "cpu_flags", lambda: frozenset(flags))
    assert resolve_precision("auto") == want
    assert PR.cpu_has_amx() == ("amx_bf16" in flags)
