"""The fast dilated convolution equals TensorFlow's, values and gradients, and trains the same."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from napari_das.core.config import NetworkConfig  # noqa: E402
from napari_das.core.nn.fastconv import (  # noqa: E402
    _tap_range,
    check_low_precision,
    same_conv1d,
    use_fast_convolutions,
)


def reference(x, w, d):
    return tf.nn.convolution(x, w, padding="SAME", dilations=d)


@pytest.mark.parametrize("length,kernel,dilation", [
    (64, 32, 1), (64, 32, 4), (64, 32, 8), (64, 32, 16),  # the bird TCN's layers
    (64, 32, 32),  # more padding than signal on both sides: a single tap is left
    (7, 5, 3), (40, 4, 2), (16, 2, 1), (9, 3, 8),  # odd/even kernels, short inputs
    (5, 4, 8), (3, 32, 16), (6, 7, 5),  # chunks shorter than the dilation: the general path
])
@pytest.mark.parametrize("static", [True, False])
def test_values_and_gradients_equal_tensorflow(length, kernel, dilation, static):
    rng = np.random.default_rng(length * 1000 + kernel * 10 + dilation)
    x = tf.constant(rng.normal(size=(3, length, 5)).astype("float32"))
    w = tf.constant(rng.normal(size=(kernel, 5, 6)).astype("float32"))
    dy = tf.constant(rng.normal(size=(3, length, 6)).astype("float32"))

    def run(fn):
        def f(x, w):
            with tf.GradientTape() as tape:
                tape.watch([x, w])
                y = fn(x, w)
                loss = tf.reduce_sum(y * dy)
            return (y, *tape.gradient(loss, [x, w]))
        spec = [tf.TensorSpec([3, length if static else None, 5]), tf.TensorSpec(w.shape)]
        return [t.numpy() for t in tf.function(f, input_signature=spec)(x, w)]

    fast = run(lambda x, w: same_conv1d(x, w, dilation))
    ref = run(lambda x, w: reference(x, w, dilation))
    for a, b, name in zip(fast, ref, ("y", "dx", "dw")):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max(), err_msg=name)


def test_taps_that_only_see_padding_are_left_out():
    # kernel 32, dilation 16, 64 frames: padding 248 on the left; taps 0..11 and 20..31 read
    # only zeros
    assert _tap_range(64, 32, 16, 248) == (12, 20)
    assert _tap_range(64, 32, 4, 62) == (0, 32)
    assert _tap_range(None, 32, 16, 248) == (0, 32)


def test_model_trains_identically_and_saves_plain_layers(tmp_path, monkeypatch):
    import keras

    from napari_das.core.nn import fastconv
    from napari_das.core.nn.model import build_model, load_model

    calls = []

    def counted(*args, **kwargs):
        calls.append(args[2])
        return same_conv1d(*args, **kwargs)

    monkeypatch.setattr(fastconv, "same_conv1d", counted)

    net = NetworkConfig(nb_filters=8, kernel_size=8, nb_conv=2, nb_hist=256, nb_pre_conv=2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 256, 1)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, size=(4, 256)), 3)
    losses = []
    for fast in (False, True):
        keras.utils.set_random_seed(3)
        model = build_model(net, 1, 3)
        if fast:
            assert use_fast_convolutions(model) == {"fast": 2 * len(net.dilations), "low": 0,
                                                    "pointwise": 1 + 2 * len(net.dilations)}
        losses.append([model.train_on_batch(x, y) for _ in range(3)])
        # the replacement really runs (traced once per dilated layer), and only when installed
        assert sorted(set(calls)) == ([1, 2, 4, 8, 16] if fast else [])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    model.save(tmp_path / "m_model.keras")
    again = load_model(tmp_path / "m_model.keras")
    assert "call" not in vars(again.get_layer("s0_d1_conv"))
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dilation", [1, 16])
def test_bfloat16_compute_stays_close_and_returns_float32(dilation):
    rng = np.random.default_rng(dilation)
    x = tf.constant(rng.normal(size=(32, 64, 32)).astype("float32"))
    w = tf.constant((rng.normal(size=(32, 32, 32)) / 32).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = same_conv1d(x, w, dilation, compute_dtype="bfloat16", low_batch=32)
        loss = tf.reduce_sum(y * y)
    dx, dw = tape.gradient(loss, [x, w])
    assert y.dtype == dx.dtype == dw.dtype == tf.float32
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y_ref = reference(x, w, dilation)
        loss = tf.reduce_sum(y_ref * y_ref)
    dx_ref, dw_ref = tape.gradient(loss, [x, w])
    for a, b in ((y, y_ref), (dx, dx_ref), (dw, dw_ref)):
        a, b = a.numpy(), b.numpy()
        # bfloat16 keeps 8 bits of mantissa: relative error of a sum of products ~1e-2
        assert np.linalg.norm(a - b) / np.linalg.norm(b) < 0.02


def test_bfloat16_check_tells_right_from_wrong():
    # a correct bfloat16 convolution is within 1 % of float32 (the check's yardstick)
    assert check_low_precision(32, 64, 32, 32, 32, 4) < 0.01


@pytest.mark.parametrize("batch,channels,filters", [(32, 32, 32), (4, 4, 8), (8, 6, 16),
                                                    (12, 32, 32), (3, 1, 4), (32, 16, 16)])
def test_bfloat16_layers_are_right_or_fall_back(batch, channels, filters):
    # TensorFlow's own bfloat16 convolution is wrong for some shapes on AMX CPUs (even channel
    # counts 2-14; 16 channels at stride >= 4): such layers must keep float32, others are close
    import keras

    inputs = keras.Input((None, channels))
    layers = [keras.layers.Conv1D(filters, 32, padding="same", dilation_rate=d, name=f"c{d}")
              for d in (1, 4, 16)]
    h = inputs
    for layer in layers:
        h = layer(h)
    model = keras.Model(inputs, h)
    rng = np.random.default_rng(batch * 100 + channels)
    x = tf.constant(rng.normal(size=(batch, 64, channels)).astype("float32"))

    def grads():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(model(x) ** 2)
        return tape.gradient(loss, [x, *model.trainable_variables])

    want = grads()
    counts = use_fast_convolutions(model, "bfloat16", batch=batch, frames=64)
    assert counts["fast"] == 3
    for a, b in zip(grads(), want):
        assert np.linalg.norm(a - b) / np.linalg.norm(b) < 0.05


@pytest.mark.parametrize("batch", [32, 4])
def test_bfloat16_kernel_gradient_with_batch_known_only_at_run_time(batch):
    # tf.data batches have no static batch size: the verified batch (32) runs in bfloat16,
    # any other size in float32 (4 is one TensorFlow gets wrong in bfloat16 on AMX CPUs)
    rng = np.random.default_rng(batch)
    x = tf.constant(rng.normal(size=(batch, 64, 32)).astype("float32"))
    w = tf.constant((rng.normal(size=(32, 32, 32)) / 32).astype("float32"))

    @tf.function(input_signature=[tf.TensorSpec([None, 64, 32]), tf.TensorSpec([32, 32, 32])])
    def grads(x, w):
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            loss = tf.reduce_sum(same_conv1d(x, w, 4, "bfloat16", low_batch=32) ** 2)
        return tape.gradient(loss, [x, w])

    with tf.GradientTape() as tape:
        tape.watch([x, w])
        loss = tf.reduce_sum(reference(x, w, 4) ** 2)
    for a, b in zip(grads(x, w), tape.gradient(loss, [x, w])):
        assert np.linalg.norm(a - b) / np.linalg.norm(b) < 0.02
