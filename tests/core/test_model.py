"""The TCN and its STFT frontend: receptive field, shapes, parameter counts, files, blocks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from napari_das.core.config import NetworkConfig  # noqa: E402
from napari_das.core.errors import DasError  # noqa: E402
from napari_das.core.nn.layers import custom_layers, dft_kernels  # noqa: E402
from napari_das.core.nn.model import (  # noqa: E402
    build_model,
    load_model,
    model_flops_per_sample,
    receptive_extent,
    receptive_field_samples,
)

TINY = dict(nb_filters=8, kernel_size=4, nb_conv=2, dilations=[1, 2], nb_hist=256)
TINY_STFT = dict(TINY, nb_pre_conv=2, pre_nb_dft=16)


def tiny(**changes) -> NetworkConfig:
    return NetworkConfig(**{**TINY, **changes}).validated()


def predict(model, x: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x, training=False))


def gradient_support(model, nb_samples: int, positions, nb_channels: int = 1, seeds=(0, 1, 2)):
    """(past, future) reach of the nonzero input gradient of output samples at ``positions``.

    Union over a few random inputs: where a single filter survives the ReLU, the channel
    normalisation outputs a constant and hides the taps behind it for that input.
    """
    weights = tf.constant(np.linspace(1.0, -1.0, model.output_shape[-1]), tf.float32)
    past = future = 0
    for seed in seeds:
        x = tf.Variable(np.random.default_rng(seed).normal(size=(1, nb_samples, nb_channels))
                        .astype("float32"))
        for t in positions:
            with tf.GradientTape() as tape:
                score = tf.reduce_sum(model(x)[0, t, :] * weights)
            grad = np.abs(tape.gradient(score, x).numpy()[0]).sum(-1)
            nonzero = np.flatnonzero(grad)
            past, future = max(past, t - nonzero.min()), max(future, nonzero.max() - t)
    return int(past), int(future)


def randomise_stft_kernels(model, seed: int = 0) -> None:
    """The Hann window is zero at tap 0: random kernels make every tap contribute."""
    rng = np.random.default_rng(seed)
    for w in model.get_layer("trainable_stft").weights:
        w.assign(rng.normal(size=w.shape).astype("float32"))


# ---------------------------------------------------------------------------- receptive field
@pytest.mark.parametrize("changes, expected", [
    # k=4: the dilated convs put 1 and 3 taps in the past, 2 and 3 in the future; two stacks
    (dict(), (8, 10)),
    (dict(kernel_size=3, nb_conv=1, dilations=[1, 2, 4]), (7, 7)),
])
def test_receptive_field_matches_gradient_support(changes, expected):
    network = tiny(**changes)
    keras.utils.set_random_seed(1)
    model = build_model(network, 1, 3, compile=False)
    measured = gradient_support(model, 256, positions=[128, 129])
    assert measured == expected == network.receptive_extent == receptive_extent(network)
    assert network.receptive_field == sum(expected) + 1 == receptive_field_samples(network)
    assert network.data_padding >= max(measured)


@pytest.mark.parametrize("changes", [
    dict(nb_pre_conv=2, pre_nb_dft=16),            # window longer than the hop
    dict(nb_pre_conv=2, pre_nb_dft=32, kernel_size=5, nb_conv=1),
    dict(nb_pre_conv=3, pre_nb_dft=4, nb_conv=1),  # window shorter than the hop (gaps)
])
def test_receptive_field_with_stft_matches_gradient_support(changes):
    network = tiny(**changes)
    keras.utils.set_random_seed(2)
    model = build_model(network, 1, 3, compile=False)
    randomise_stft_kernels(model)
    hop = network.hop
    # every position inside one frame: the reach depends on where the sample sits in its frame
    past, future = gradient_support(model, 512, positions=range(256, 256 + hop))
    assert (past, future) == network.receptive_extent
    steps = 1 + network.nb_conv * (network.kernel_size - 1) * sum(network.dilations)
    assert past + future + 1 == network.receptive_field == (
        (steps - 1) * hop + network.pre_nb_dft + hop - 1)
    assert network.data_padding >= max(past, future)
    assert network.data_padding % hop == 0


def test_impulse_response_width_equals_receptive_field():
    network = tiny()
    keras.utils.set_random_seed(3)
    model = build_model(network, 1, 2, compile=False)
    changed = np.zeros(200, bool)
    for seed in range(3):  # on random backgrounds (see gradient_support)
        background = np.random.default_rng(seed).normal(size=(1, 200, 1)).astype("float32")
        impulse = background.copy()
        impulse[0, 100, 0] += 1.0
        changed |= np.abs(predict(model, impulse) - predict(model, background)).sum((0, 2)) > 0
    changed = np.flatnonzero(changed)
    # outputs reached by the impulse: `future` samples before it to `past` samples after it
    past, future = network.receptive_extent
    assert (changed.min(), changed.max()) == (100 - future, 100 + past)
    assert changed.max() - changed.min() + 1 == network.receptive_field


# ---------------------------------------------------------------------------- STFT frontend
def test_dft_kernels_are_the_hann_windowed_dft():
    real, imag = dft_kernels(8)
    assert real.shape == imag.shape == (8, 1, 1, 5)
    signal = np.random.default_rng(0).normal(size=8)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(8) / 8)
    expected = np.fft.rfft(signal * window)
    np.testing.assert_allclose(signal @ real[:, 0, 0, :], expected.real, atol=1e-5)
    np.testing.assert_allclose(signal @ imag[:, 0, 0, :], expected.imag, atol=1e-5)


@pytest.mark.parametrize("nb_samples, frames", [(1024, 64), (1000, 63)])
def test_stft_of_a_pure_tone_peaks_in_its_bin(nb_samples, frames):
    t = np.arange(nb_samples) / 16000
    tone = np.sin(2 * np.pi * 1000 * t).astype("float32")[None, :, None]
    stft = custom_layers().TrainableSTFT(n_dft=64, hop=16)
    out = keras.ops.convert_to_numpy(stft(tone))
    assert out.shape == (1, frames, 33)  # ceil(T / hop) frames, n_dft/2 + 1 bins
    inner = out[0, 4:-4]  # frames whose window lies inside the signal
    assert np.all(inner.argmax(-1) == 4)  # 1 kHz / (16 kHz / 64) = bin 4
    # fixed reference: a full-scale tone maps to 1, digital silence to -1
    np.testing.assert_allclose(inner[:, 4], 1.0, atol=1e-3)
    quiet = keras.ops.convert_to_numpy(stft(0.01 * tone))[0, 4:-4, 4]
    np.testing.assert_allclose(quiet, 1.0 - 40 / 50, atol=1e-3)  # -40 dB
    silence = keras.ops.convert_to_numpy(stft(np.zeros_like(tone)))
    np.testing.assert_allclose(silence, -1.0, atol=1e-6)


def test_stft_layout_is_bin_major_channel_minor():
    x = np.random.default_rng(1).normal(size=(2, 128, 3)).astype("float32")
    together = keras.ops.convert_to_numpy(custom_layers().TrainableSTFT(n_dft=16, hop=4)(x))
    assert together.shape == (2, 32, 9 * 3)
    for channel in range(3):
        mono = custom_layers().TrainableSTFT(n_dft=16, hop=4)  # same DFT initialisation
        alone = keras.ops.convert_to_numpy(mono(x[..., channel:channel + 1]))
        np.testing.assert_allclose(together[..., channel::3], alone, atol=1e-5)


def test_channel_normalization_golden():
    layer = custom_layers().ChannelNormalization()
    out = keras.ops.convert_to_numpy(layer(np.array([[[-1.0, 2.0, 4.0], [0.0, -3.0, 0.5]]],
                                                    "float32")))
    np.testing.assert_allclose(out, [[[0, 2 / (4 + 1e-5), 4 / (4 + 1e-5)],
                                      [0, 0, 0.5 / (0.5 + 1e-5)]]], rtol=1e-6)
    assert layer.get_config()["epsilon"] == 1e-5


# ---------------------------------------------------------------------------- parameters
def test_parameter_count_of_the_default_tcn_matches_spec():
    model = build_model(NetworkConfig().validated(), 1, 2, compile=False)
    # spec 3.4, F=16, k=16, C=1: 32 + 15 * (4112 + 272) + (16K + K)
    assert model.count_params() == 32 + 15 * (4112 + 272) + (16 * 2 + 2)


@pytest.mark.parametrize("separable", [[False], [True], [True, False]])
@pytest.mark.parametrize("frontend", [False, True])
def test_parameter_count_formula(separable, frontend):
    F, k, S, C, K, n_dft = 8, 4, 2, 3, 4, 16
    dilations = [1, 2, 4]
    changes = dict(use_separable=separable, dilations=dilations)
    if frontend:
        changes.update(nb_pre_conv=2, pre_nb_dft=n_dft)
    model = build_model(tiny(**changes), C, K, compile=False)
    features = (n_dft // 2 + 1) * C if frontend else C
    expected = 2 * n_dft * (n_dft // 2 + 1) if frontend else 0  # real + imaginary kernels
    expected += features * F + F  # input 1x1 conv
    per_stack = (separable + [separable[-1]] * S)[:S]
    for sep in per_stack:
        dilated = (k * F * 4 + 4 * F * F + F) if sep else (k * F * F + F)
        expected += len(dilations) * (dilated + F * F + F)
    expected += F * K + K
    assert model.count_params() == expected


def test_parameter_count_with_bilstm():
    model = build_model(tiny(nb_lstm_units=5), 1, 2, compile=False)
    F, U, k = 8, 5, 4
    tcn = F + F + 4 * (k * F * F + F + F * F + F)
    lstm = 2 * 4 * (F * U + U * U + U)
    assert model.count_params() == tcn + lstm + 2 * U * 2 + 2


def test_flops_per_sample_hand_counted():
    net = NetworkConfig(nb_filters=4, kernel_size=3, nb_conv=1, dilations=[1], nb_hist=64)
    # input conv 1*4 + dilated 3*4*4 + 1x1 4*4 + dense 4*2 = 76 multiply-adds per sample
    assert model_flops_per_sample(net, 1, 2) == 2 * 76
    stft = net.replace(nb_pre_conv=1, pre_nb_dft=8)
    # STFT per frame: 2 kernels * 8 taps * 5 bins + 2*5 (power) = 90; TCN per frame: input conv
    # 5*4 + 48 + 16 + 8 = 92; one frame every 2 samples
    assert model_flops_per_sample(stft, 1, 2) == 2 * (90 + 92) / 2
    assert model_flops_per_sample(net, 3, 2) == 2 * (76 + 2 * 4)  # two more input channels


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("frontend", [False, True])
@pytest.mark.parametrize("nb_channels", [1, 3])
def test_output_length_equals_input_length_and_rows_sum_to_one(frontend, nb_channels):
    network = NetworkConfig(**(TINY_STFT if frontend else TINY)).validated()
    keras.utils.set_random_seed(4)
    model = build_model(network, nb_channels, 3)
    assert model.input_shape == (None, None, nb_channels)
    rng = np.random.default_rng(5)
    for length in (256, 4 * network.hop * 37, 2048):  # chunk, odd multiple of hop, long window
        x = rng.normal(size=(2, length, nb_channels)).astype("float32")
        y = predict(model, x)
        assert y.shape == (2, length, 3)
        np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
    # every audio channel reaches the output
    x = tf.Variable(rng.normal(size=(1, 256, nb_channels)).astype("float32"))
    with tf.GradientTape() as tape:
        score = model(x)[0, 128, 0]
    per_channel = np.abs(tape.gradient(score, x).numpy()[0]).sum(0)
    assert np.all(per_channel > 0)


def test_upsample_false_returns_frames():
    network = NetworkConfig(**TINY_STFT, upsample=False).validated()
    model = build_model(network, 1, 2, compile=False)
    assert predict(model, np.zeros((1, 256, 1), "float32")).shape == (1, 64, 2)


def test_build_is_deterministic_given_the_seed():
    network = NetworkConfig(**TINY_STFT).validated()
    weights = []
    for _ in range(2):
        keras.utils.set_random_seed(7)
        weights.append(build_model(network, 1, 2, compile=False).get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    keras.utils.set_random_seed(8)
    other = build_model(network, 1, 2, compile=False).get_weights()
    kernels = [i for i, w in enumerate(other) if w.ndim == 3]  # conv kernels (biases are 0)
    assert kernels and not any(np.array_equal(weights[0][i], other[i]) for i in kernels)


def test_bad_sizes_raise_das_error():
    with pytest.raises(DasError, match="at least one class"):
        build_model(tiny(), 1, 0)
    with pytest.raises(DasError, match="channel"):
        build_model(tiny(), 0, 2)
    with pytest.raises(DasError, match="multiple of the downsample factor"):
        build_model(NetworkConfig(nb_pre_conv=2, nb_hist=250), 1, 2)


# ---------------------------------------------------------------------------- training
def test_temporal_sample_weights_scale_the_loss_per_step():
    keras.utils.set_random_seed(9)
    model = build_model(tiny(), 1, 3)
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2, 64, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, size=(2, 64)), 3)
    weights = np.ones((2, 64), "float32")
    weights[:, :16] = 0.0
    weights[1, 40:] = 3.0
    p = np.clip(predict(model, x), 1e-7, 1 - 1e-7)
    per_step = -(y * np.log(p)).sum(-1)
    loss = model.evaluate(x, y, sample_weight=weights, verbose=0, batch_size=2)
    # averaged over all batch*time elements, zero-weighted steps included (spec 3.6)
    np.testing.assert_allclose(loss, (per_step * weights).sum() / weights.size, rtol=1e-4)
    history = model.fit(x, y, sample_weight=weights, epochs=2, batch_size=2, verbose=0)
    assert len(history.history["loss"]) == 2


# ---------------------------------------------------------------------------- files
@pytest.mark.slow  # a TensorFlow import in a child process
def test_save_and_reload_in_a_fresh_interpreter(tmp_path):
    keras.utils.set_random_seed(10)
    network = NetworkConfig(**TINY_STFT, nb_lstm_units=3, use_separable=[True, False]).validated()
    model = build_model(network, 2, 3)
    x = np.random.default_rng(10).normal(size=(2, 512, 2)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    model.save(tmp_path / "run_model.keras")  # .keras first (PLATFORM.md)
    # as training does: a compiled .h5 save with the optimizer makes later .keras checkpoints
    # reload with a wrong optimizer (Keras 3.15)
    model.save(tmp_path / "run_model.h5", include_optimizer=False)
    expected = predict(model, x)
    y = keras.utils.to_categorical(np.arange(2 * 512).reshape(2, 512) % 3, 3)
    np.save(tmp_path / "y.npy", y)
    model.fit(x, y, sample_weight=np.ones((2, 512), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "run_checkpoint.keras")  # compiled, with the optimizer state
    code = textwrap.dedent(f"""
        import os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        import numpy as np
        from napari_das.core.nn.model import load_model
        folder = {str(tmp_path)!r}
        x = np.load(folder + "/x.npy")
        for name in ("run_model.keras", "run_model.h5", "run"):
            model = load_model(folder + "/" + name)
            np.save(folder + "/" + name + ".out.npy", np.asarray(model(x, training=False)))
        import keras
        from napari_das.core.nn.model import custom_objects
        custom_objects()  # registers the layers for a plain compiled load (resume)
        resumed = keras.saving.load_model(folder + "/run_checkpoint.keras", compile=True)
        resumed.fit(x, np.load(folder + "/y.npy"), sample_weight=np.ones((2, 512), "float32"),
                    epochs=1, verbose=0)
        print("iterations", int(resumed.optimizer.iterations))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "iterations 2" in result.stdout  # one step before saving, one after resuming
    for name in ("run_model.keras", "run_model.h5", "run"):
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.out.npy"), expected)


def test_two_models_in_one_session_save_and_load(tmp_path):
    x = np.random.default_rng(11).normal(size=(1, 256, 1)).astype("float32")
    outputs = []
    for i, changes in enumerate([TINY, TINY_STFT]):
        keras.utils.set_random_seed(11 + i)
        model = build_model(NetworkConfig(**changes).validated(), 1, 2)
        model.save(tmp_path / f"m{i}_model.keras")
        model.save(tmp_path / f"m{i}_model.h5")
        outputs.append(predict(model, x))
    for i in range(2):
        for suffix in ("_model.keras", "_model.h5"):
            loaded = load_model(tmp_path / f"m{i}{suffix}")
            np.testing.assert_array_equal(predict(loaded, x), outputs[i])
    # the stem prefers the .keras file
    (tmp_path / "m0_model.h5").write_bytes(b"not a model")
    np.testing.assert_array_equal(predict(load_model(tmp_path / "m0"), x), outputs[0])


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(DasError, match="missing_model.keras: model file not found"):
        load_model(tmp_path / "missing_model.keras")
    with pytest.raises(DasError, match=r"nothing: no model file nothing_model\.keras"):
        load_model(tmp_path / "nothing")
    bad = tmp_path / "bad_model.keras"
    bad.write_bytes(b"garbage")
    with pytest.raises(DasError, match="bad_model.keras: cannot load the model"):
        load_model(bad)
    truncated = tmp_path / "cut_model.h5"
    build_model(tiny(), 1, 2).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:2000])
    with pytest.raises(DasError, match="cut_model.h5: cannot load the model"):
        load_model(tmp_path / "cut")


# ---------------------------------------------------------------------------- blocks
@pytest.mark.parametrize("frontend", [False, True])
def test_prediction_in_overlapping_blocks_equals_one_pass(frontend):
    network = NetworkConfig(**(TINY_STFT if frontend else TINY)).validated()
    keras.utils.set_random_seed(12)
    model = build_model(network, 1, 3, compile=False)
    rng = np.random.default_rng(12)
    x = rng.normal(scale=0.1, size=(1, 2048, 1)).astype("float32")
    x[0, 1500:1600] *= 100  # a loud burst in the second half only
    whole = predict(model, x)
    hop = network.hop
    overlap = -(-network.receptive_field // hop) * hop
    first = predict(model, x[:, : 1024 + overlap])
    second = predict(model, x[:, 1024 - overlap:])
    stitched = np.concatenate([first[:, :1024], second[:, overlap:]], axis=1)
    np.testing.assert_allclose(stitched, whole, atol=1e-5)
    # the burst changes nothing outside its receptive field
    quiet = x.copy()
    quiet[0, 1500:1600] /= 100
    past, future = network.receptive_extent
    np.testing.assert_allclose(predict(model, quiet)[:, : 1500 - future],
                               whole[:, : 1500 - future], atol=1e-5)
