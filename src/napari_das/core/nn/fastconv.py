"""A faster, exact replacement for the dilated "same" Conv1D of the TCN during training.

On the CPU, TensorFlow's gradient of a dilated 1-D convolution is far slower than the
convolution itself (measured with TensorFlow 2.21 on 2 cores, ``[32, 64, 32]`` frames, kernel 32:
forward 2.1 ms, forward and backward 14.6 ms).  Both gradients are themselves plain convolutions:

- the input gradient is the convolution of the zero-padded output gradient with the kernel
  reversed in time and with input and output channels swapped;
- the kernel gradient is a convolution in which the batch plays the channels and the channels
  play the batch: ``x`` as ``[C, time, B]`` convolved with ``dy`` as ``[T, B, F]`` at stride
  ``dilation`` gives ``[C, K, F]``.

Written that way, with TensorFlow's forward kernels, a training step of the TCN costs about half
(see ``bench/bench_training.py``).  When the length of the input is known when the step is traced
(always in training: chunks have a fixed length), taps whose inputs are the zero padding for every
output are left out: with 64 frames, kernel 32 and dilation 16, only 8 of the 32 taps ever see the
signal.  Their gradients are exactly zero, as in the ordinary convolution.

The replacement is installed on a built or loaded model's layers (:func:`use_fast_convolutions`);
it changes no weight, no layer configuration and nothing that is saved, so model files stay
ordinary Keras (and DAS) files.  The result equals ``tf.nn.convolution`` to float rounding
(tests/core/test_fastconv.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


def _tap_range(length: int | None, kernel: int, dilation: int, pad_left: int) -> tuple[int, int]:
    """Taps ``[k0, k1)`` that see at least one input sample for some output ("same" padding)."""
    if length is None:
        return 0, kernel
    # tap k reads padded positions [k*d, k*d + T - 1]; the signal is at [pad_left, pad_left + T)
    k0 = 0
    while k0 < kernel and k0 * dilation + length - 1 < pad_left:
        k0 += 1
    k1 = kernel
    while k1 > k0 and (k1 - 1) * dilation >= pad_left + length:
        k1 -= 1
    return k0, k1  # empty when no tap ever sees the signal (chunks far shorter than d)


def same_conv1d(x: Any, w: Any, dilation: int, compute_dtype: str | None = None,
                low_batch: int | None = None) -> Any:
    """``tf.nn.convolution(x, w, padding="SAME", dilations=dilation)`` with cheap gradients.

    Parameters
    ----------
    x : tf.Tensor
        ``[B, T, C]``.
    w : tf.Tensor
        ``[K, C, F]``.
    dilation : int
    compute_dtype : str, optional
        Run the convolutions (forward and both gradients) in this dtype, e.g. ``"bfloat16"``,
        and return results in ``x``'s dtype: mixed precision for the convolutions only (the
        weights, the optimizer and every other layer stay float32).
    low_batch : int, optional
        With ``compute_dtype``: the kernel gradient (whose "channels" are the batch) runs in
        ``compute_dtype`` only for this static batch size (the one :func:`check_low_precision`
        verified), in float32 otherwise.

    Returns
    -------
    tf.Tensor
        ``[B, T, F]``.
    """
    import tensorflow as tf

    kernel = int(w.shape[0])
    d = int(dilation)
    total = (kernel - 1) * d
    pad_left = total // 2
    length = x.shape[1]
    length = int(length) if length is not None else None
    k0, k1 = _tap_range(length, kernel, d, pad_left)
    span = (k1 - k0 - 1) * d  # extra input samples a VALID convolution of the kept taps needs
    lo = k0 * d - pad_left  # x index of the first input the first kept tap reads
    # TensorFlow's own convolution where no tap sees the signal (nothing to speed up) or where
    # the kept taps' window would start inside it (never seen: pad_left is about half the
    # receptive field); right there, only slower
    if k1 <= k0 or not lo <= 0 <= span + lo:
        return tf.nn.convolution(x, w, padding="SAME", dilations=d)
    left, right = -lo, span + lo  # the kept taps need zeros on both sides only

    out_dtype = x.dtype

    def low(t):
        return t if compute_dtype is None else tf.cast(t, compute_dtype)

    def high(t):
        return t if compute_dtype is None else tf.cast(t, out_dtype)

    def valid(a, f, dil=d, strides=1, pads=None):
        # a 2-D convolution of height 1: oneDNN dilates natively, where tf.nn.convolution
        # wraps a dilated 1-D convolution in SpaceToBatch/BatchToSpace (same values, ~15 % slower);
        # ``pads`` (left, right) zero-pads the time axis inside the convolution (no Pad op)
        padding = "VALID" if pads is None else [[0, 0], [0, 0], list(pads), [0, 0]]
        y = tf.nn.conv2d(a[:, None], f[None], strides=[1, 1, strides, 1], padding=padding,
                         dilations=[1, 1, dil, 1])
        return y[:, 0]

    def valid_in(a, f, low_precision, **kwargs):
        """``valid`` on float32 tensors, computed in compute_dtype if ``low_precision``.

        Pads, slices, reversals and transposes stay in float32: oneDNN's bfloat16 transposes
        cost twice the float32 ones, more than the convolutions save.
        """
        if compute_dtype is None or not low_precision:
            return valid(a, f, **kwargs)
        return high(valid(low(a), low(f), **kwargs))

    def kernel_gradient(x, xt, dyt, pads=None):
        """``[C, taps, F]``: in compute_dtype only for the batch size that was checked."""
        batch = x.shape[0]
        if compute_dtype is None or low_batch is None:
            return valid_in(xt, dyt, False, dil=1, strides=d, pads=pads)
        if batch is not None:
            return valid_in(xt, dyt, int(batch) == int(low_batch), dil=1, strides=d, pads=pads)
        return tf.cond(tf.equal(tf.shape(x)[0], int(low_batch)),  # batch known when run
                       lambda: valid_in(xt, dyt, True, dil=1, strides=d, pads=pads),
                       lambda: valid_in(xt, dyt, False, dil=1, strides=d, pads=pads))

    @tf.custom_gradient
    def padded_conv(x, w):
        w_kept = w[k0:k1]
        y = valid_in(x, w_kept, True, pads=(left, right))

        def grad(dy):
            w_rev = tf.transpose(tf.reverse(w_kept, axis=[0]), [0, 2, 1])  # [taps, F, C]
            dx = valid_in(dy, w_rev, True, pads=(right, left))
            xt = tf.transpose(x, [2, 1, 0])  # [C, n, B]: batch <-> channels
            dyt = tf.transpose(dy, [1, 0, 2])  # [n, B, F]
            dw_kept = kernel_gradient(x, xt, dyt, pads=(left, right))
            dw = tf.pad(tf.transpose(dw_kept, [1, 0, 2]), [[k0, kernel - k1], [0, 0], [0, 0]])
            return dx, dw

        return y, grad

    return padded_conv(x, tf.convert_to_tensor(w))


def check_low_precision(batch: int, frames: int, channels: int, filters: int, kernel: int,
                        dilation: int, compute_dtype: str = "bfloat16", seed: int = 0,
                        gradients: bool = True) -> float:
    """Largest relative error of the output and both gradients in ``compute_dtype``.

    TensorFlow 2.21's oneDNN bfloat16 convolution returns garbage for some shapes (measured on
    Sapphire Rapids: input-channel counts 2-14 when even, with 8 or more taps; 16 channels at
    stride 4 or more), so low precision is only used for shapes checked here first.  Correct
    kernels give ~0.003 (8 bits of mantissa); broken ones ~1.  Through tf.nn.convolution's
    dilated path (SpaceToBatch) whether a shape was broken also depended on the batch size (8
    channels, dilation 16, 64 frames: right at 1-17 windows, wrong from 31); through the
    height-1 Conv2D used here, forward convolutions of 2-14 (even) channels were wrong when
    undilated, at every batch size tried (1-256), and right otherwise.  The check is for exact
    shapes, batch size included.  ``gradients=False`` checks the output only (prediction).
    """
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=(batch, frames, channels)).astype("float32"))
    w = tf.constant((rng.normal(size=(kernel, channels, filters))
                     / np.sqrt(kernel * channels)).astype("float32"))
    dy = (tf.constant(rng.normal(size=(batch, frames, filters)).astype("float32"))
          if gradients else None)
    out = []
    for dtype in (compute_dtype, None):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([x, w])
            if dtype is None:
                y = tf.nn.convolution(x, w, padding="SAME", dilations=dilation)
            else:
                y = same_conv1d(x, w, dilation, dtype, low_batch=batch)
        grads = tape.gradient(y, [x, w], output_gradients=dy) if gradients else []
        out.append([t.numpy() for t in (y, *grads)])
    errors = [np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30) for a, b in zip(*out)]
    return float(max(errors))


#: largest relative error of a convolution in bfloat16 that is accepted (correct kernels: 0.003)
LOW_PRECISION_TOLERANCE = 0.02


def _bias_and_activation(layer: Any, outputs: Any) -> Any:
    """The rest of ``Conv1D.call`` after the convolution."""
    if layer.use_bias:
        outputs = outputs + layer.bias
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs


def _fast_call(layer: Any, compute_dtype: str | None, low_batch: int | None):
    """A replacement for ``Conv1D.call`` (Keras 3 calls ``ops.conv`` there directly)."""
    dilation = int(layer.dilation_rate[0])

    def call(inputs):
        outputs = same_conv1d(inputs, layer.kernel, dilation, compute_dtype, low_batch)
        return _bias_and_activation(layer, outputs)

    return call


def _pointwise_call(layer: Any):
    """``Conv1D`` with one tap as a matrix product (its gradients are matrix products too)."""
    import tensorflow as tf

    def call(inputs):
        kernel = layer.kernel[0]  # [C, F]
        shape = tf.shape(inputs)
        flat = tf.reshape(inputs, [-1, shape[-1]])
        outputs = tf.reshape(tf.matmul(flat, kernel),
                             tf.concat([shape[:-1], tf.shape(kernel)[-1:]], 0))
        return _bias_and_activation(layer, outputs)

    return call


def _plain_conv1d(layer: Any) -> bool:
    """A Keras Conv1D (not a subclass) with stride 1, one group, channels last."""
    import keras

    return (type(layer) is keras.layers.Conv1D and tuple(layer.strides) == (1,)
            and int(layer.groups) == 1 and layer.data_format == "channels_last")


def pointwise(layer: Any) -> bool:
    """A plain Conv1D with a single tap (a per-time-step linear map)."""
    return _plain_conv1d(layer) and int(layer.kernel_size[0]) == 1 \
        and tuple(layer.dilation_rate) == (1,)


def eligible(layer: Any) -> bool:
    """A plain Conv1D with "same" padding and a kernel longer than one tap."""
    return _plain_conv1d(layer) and layer.padding == "same" and int(layer.kernel_size[0]) > 1


def use_fast_convolutions(model: Any, compute_dtype: str | None = None,
                          batch: int | None = None, frames: int | None = None) -> dict[str, int]:
    """Give the model's dilated "same" Conv1D layers the fast gradient.

    Only the layer objects change (an instance attribute replaces ``call``): weights, configs and
    saved files do not.  Keras 3's TensorFlow backend only; other backends are left alone.

    ``compute_dtype`` (``"bfloat16"``) runs a layer's convolutions in that dtype when
    :func:`check_low_precision` finds them right at ``batch`` chunks of ``frames`` steps (the
    training batches); layers that fail the check keep float32, with a warning.

    Returns
    -------
    dict
        ``{"fast": layers given the fast gradient, "low": of them in compute_dtype,
        "pointwise": one-tap Conv1D layers run as matrix products (2-3x faster on the CPU)}``.
    """
    import keras

    counts = {"fast": 0, "low": 0, "pointwise": 0}
    if keras.backend.backend() != "tensorflow":
        return counts
    checked: dict[tuple, bool] = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if pointwise(layer):
            layer.call = _pointwise_call(layer)
            counts["pointwise"] += 1
            continue
        if not eligible(layer):
            continue
        dtype = None
        if compute_dtype is not None and batch and frames:
            kernel, channels, filters = (int(n) for n in layer.kernel.shape)
            key = (channels, filters, kernel, int(layer.dilation_rate[0]))
            if key not in checked:
                error = check_low_precision(int(batch), int(frames), *key, compute_dtype)
                checked[key] = error <= LOW_PRECISION_TOLERANCE
                if not checked[key]:
                    log.warning("%s convolution of %s is wrong on this machine (relative error "
                                "%.2f): the layer keeps float32", compute_dtype, layer.name, error)
            dtype = compute_dtype if checked[key] else None
        layer.call = _fast_call(layer, dtype, int(batch) if batch else None)
        counts["fast"] += 1
        counts["low"] += dtype is not None
    log.debug("fast convolution gradients on %(fast)d layers, %(low)d in low precision, "
              "%(pointwise)d pointwise", counts)
    return counts


# ------------------------------------------------------------------------------ prediction
#: forward-only checks done in this process: ``{(batch, frames, C, F, K, d, dtype): ok}``
_FORWARD_CHECKS: dict[tuple, bool] = {}
_WARNED: set[tuple] = set()
#: held while replacement calls are installed: tracings of one model in several threads (Dask
#: worker threads share a cached model) must not swap each other's layer calls
_INSTALL_LOCK = threading.RLock()


def forward_low_precision_ok(batch: int, frames: int, channels: int, filters: int, kernel: int,
                             dilation: int, compute_dtype: str = "bfloat16") -> bool:
    """True when the forward convolution of these exact shapes is right in ``compute_dtype``
    (:func:`check_low_precision` without gradients; each shape checked once per process)."""
    key = (int(batch), int(frames), int(channels), int(filters), int(kernel), int(dilation),
           str(compute_dtype))
    ok = _FORWARD_CHECKS.get(key)
    if ok is None:
        error = check_low_precision(*key, gradients=False)
        ok = _FORWARD_CHECKS[key] = error <= LOW_PRECISION_TOLERANCE
        if not ok and key[1:] not in _WARNED:
            _WARNED.add(key[1:])
            log.warning("%s convolution (%d channels -> %d, kernel %d, dilation %d, %d frames) "
                        "is wrong on this machine at %d windows per call (relative error %.2f): "
                        "it runs in float32", compute_dtype, *key[2:6], key[1], key[0], error)
    return ok


class PredictionConvolutions:
    """Fast forward convolutions for a model's compiled prediction call, without touching it.

    :meth:`installed` replaces the ``call`` of the model's dilated "same" Conv1D layers while
    the prediction function is traced and puts the old ones back afterwards, so the model
    object, other compiled calls of it and saved files are unchanged.  The replacement is
    :func:`same_conv1d` (taps that only see padding skipped when the window length is static).

    With ``compute_dtype`` (``"bfloat16"``) the traced call takes a boolean per layer
    (``flags``, :meth:`flags`): True runs that layer's convolution in ``compute_dtype``, False in
    float32.  The flags come from :func:`forward_low_precision_ok` for the exact shapes of a
    call, windows per call included (TensorFlow's bfloat16 bug has depended on it, and the
    last call of a recording is usually partial), so every shape that runs in bfloat16 was
    checked.
    """

    def __init__(self, model: Any, compute_dtype: str | None = None):
        import weakref

        self._model = weakref.ref(model)  # runners are cached per model: no strong reference
        self.compute_dtype = compute_dtype
        #: ``[(frames, channels, filters, kernel, dilation)]`` per replaced layer, as traced
        self.shapes: list[tuple | None] = []

    def layers(self) -> list[Any]:
        import keras

        model = self._model()
        if model is None or keras.backend.backend() != "tensorflow":
            return []
        return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
                if eligible(layer)]

    def count(self) -> int:
        """Layers replaced (the length of ``flags``)."""
        return len(self.layers())

    def flags(self, batch: int) -> Any:
        """bool ``[layers]``: which layers run in ``compute_dtype`` for calls of ``batch``
        windows (all False before the call is traced or without ``compute_dtype``)."""
        import numpy as np

        out = np.zeros(len(self.shapes), bool)
        if self.compute_dtype is None:
            return out
        for i, shape in enumerate(self.shapes):
            if shape is not None and shape[0] is not None:
                out[i] = forward_low_precision_ok(int(batch), *shape, self.compute_dtype)
        return out

    def installed(self, flags: Any = None):
        """Context manager: the replacement calls while tracing (``flags``: a bool tensor
        ``[layers]``, or None for float32 everywhere)."""
        import contextlib

        @contextlib.contextmanager
        def manager():
            with _INSTALL_LOCK:
                layers = self.layers()
                self.shapes = [None] * len(layers)
                missing = object()
                saved = [vars(layer).get("call", missing) for layer in layers]
                try:
                    for i, layer in enumerate(layers):
                        layer.call = self._call(i, layer, flags)
                    yield len(layers)
                finally:
                    for layer, old in zip(layers, saved):
                        if old is missing:
                            del layer.call
                        else:
                            layer.call = old

        return manager()

    def _call(self, index: int, layer: Any, flags: Any):
        import tensorflow as tf

        dilation = int(layer.dilation_rate[0])
        low = self.compute_dtype if flags is not None else None

        def call(inputs):
            kernel = layer.kernel
            length = inputs.shape[1]
            length = int(length) if length is not None else None
            k, c, f = (int(n) for n in kernel.shape)
            self.shapes[index] = (length, c, f, k, dilation)
            if low is None or length is None:
                outputs = same_conv1d(inputs, kernel, dilation)
            else:
                outputs = tf.cond(flags[index],
                                  lambda: same_conv1d(inputs, kernel, dilation, low),
                                  lambda: same_conv1d(inputs, kernel, dilation))
            return _bias_and_activation(layer, outputs)

        return call
