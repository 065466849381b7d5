"""Custom Keras layers of the napari-das network, built lazily.

Importing this module does not import TensorFlow or Keras (``tests/test_layers.py`` checks that
every core module imports without them).  The layer classes are defined and registered with Keras
(package ``napari_das``) on the first call of :func:`custom_layers`; later calls return the cached
classes.  Call it before loading a model file so Keras can find the registered names.

Layers
------
``ChannelNormalization``
    ReLU, then division by the largest activation over the filter axis (+ ``epsilon``), per batch
    element and time step (DAS's ``norm_relu``, without DAS's ``Lambda`` layer).
``TrainableSTFT``
    Short-time Fourier transform as a strided convolution with trainable kernels initialised from
    the periodic-Hann-windowed DFT, followed by a log compression with a fixed reference (no
    per-chunk normalisation, so outputs never depend on the rest of the window).
"""

from __future__ import annotations

import logging
import types

import numpy as np

log = logging.getLogger(__name__)

_CACHE: types.SimpleNamespace | None = None

#: Floor added to the relative power before the logarithm (-100 dB).
STFT_AMIN = 1e-10
#: Decibel range mapped onto [-1, 1]: out = dB / (range/2) + 1, dB in [-range, 0] for full scale.
STFT_DB_RANGE = 100.0


def dft_kernels(n_dft: int) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary STFT kernels, periodic-Hann windowed DFT (spec 3.3).

    Parameters
    ----------
    n_dft : int
        Window length (number of taps).

    Returns
    -------
    real, imag : np.ndarray
        float32 arrays of shape ``(n_dft, 1, 1, n_dft // 2 + 1)`` (DAS's weight layout):
        ``real[n, k] = cos(2 pi k n / n_dft) w[n]``, ``imag[n, k] = -sin(2 pi k n / n_dft) w[n]``.
    """
    n = np.arange(n_dft)[:, None]
    k = np.arange(n_dft // 2 + 1)[None, :]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_dft) / n_dft)
    phase = 2 * np.pi * k * n / n_dft
    real = np.cos(phase) * window[:, None]
    imag = -np.sin(phase) * window[:, None]
    shape = (n_dft, 1, 1, n_dft // 2 + 1)
    return real.reshape(shape).astype("float32"), imag.reshape(shape).astype("float32")


def stft_reference_power(n_dft: int) -> float:
    """Power of the DFT peak of a full-scale (amplitude 1) sine: ``(n_dft / 4) ** 2`` (Hann)."""
    return float(n_dft / 4) ** 2


def custom_layers() -> types.SimpleNamespace:
    """Define, register and return the custom layer classes (imports Keras on first call).

    Returns
    -------
    types.SimpleNamespace
        ``ChannelNormalization`` and ``TrainableSTFT`` classes.
    """
    global _CACHE
    if _CACHE is None:
        _CACHE = _define_layers()
    return _CACHE


def _define_layers() -> types.SimpleNamespace:
    import keras
    from keras import ops

    register = keras.saving.register_keras_serializable(package="napari_das")

    @register
    class ChannelNormalization(keras.layers.Layer):
        """ReLU followed by division by the maximum over filters (+ epsilon), per time step."""

        def __init__(self, epsilon: float = 1e-5, **kwargs):
            super().__init__(**kwargs)
            self.epsilon = float(epsilon)

        def call(self, inputs):
            activated = ops.relu(inputs)
            peak = ops.max(activated, axis=-1, keepdims=True)
            # one reciprocal per time step and a product: the same values to a rounding, at
            # half the cost of a full-size division (and of its gradient) on the CPU
            return activated * ops.reciprocal(peak + self.epsilon)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "epsilon": self.epsilon}

    @register
    class TrainableSTFT(keras.layers.Layer):
        """Trainable STFT with fixed-reference log compression.

        Input ``[batch, time, channels]``; output ``[batch, ceil(time / hop), bins * channels]``
        (bin-major, channel-minor), ``bins = n_dft // 2 + 1``.  Every audio channel goes through
        the same kernels.  Frames use TensorFlow "same" padding.  The output is
        ``10 log10(power / ref + amin) / (db_range / 2) + 1`` with ``ref`` the DFT peak power of
        a full-scale sine: about 1 for a full-scale tone, -1 for silence.
        """

        def __init__(self, n_dft: int = 64, hop: int = 16, amin: float = STFT_AMIN,
                     db_range: float = STFT_DB_RANGE, **kwargs):
            super().__init__(**kwargs)
            self.n_dft = int(n_dft)
            self.hop = int(hop)
            self.amin = float(amin)
            self.db_range = float(db_range)
            self.nb_bins = self.n_dft // 2 + 1

        def build(self, input_shape):
            self.nb_channels = int(input_shape[-1])
            real, imag = dft_kernels(self.n_dft)
            shape = real.shape
            self.real_kernels = self.add_weight(
                name="real_kernels", shape=shape, trainable=True,
                initializer=lambda shape, dtype=None: ops.convert_to_tensor(real, dtype=dtype))
            self.imag_kernels = self.add_weight(
                name="imag_kernels", shape=shape, trainable=True,
                initializer=lambda shape, dtype=None: ops.convert_to_tensor(imag, dtype=dtype))

        def call(self, inputs):
            batch = ops.shape(inputs)[0]
            time = ops.shape(inputs)[1]
            channels = self.nb_channels
            # every channel separately through the same kernels: [batch*channels, time, 1]
            mono = ops.reshape(ops.transpose(inputs, (0, 2, 1)), (-1, time, 1))
            kernel = ops.concatenate(
                [ops.reshape(self.real_kernels, (self.n_dft, 1, self.nb_bins)),
                 ops.reshape(self.imag_kernels, (self.n_dft, 1, self.nb_bins))], axis=-1)
            spectrum = ops.conv(mono, kernel, strides=self.hop, padding="same")
            real = spectrum[..., : self.nb_bins]
            imag = spectrum[..., self.nb_bins:]
            power = (real * real + imag * imag) / stft_reference_power(self.n_dft)
            decibel = 10.0 * ops.log(power + self.amin) / np.log(10.0)
            scaled = decibel / (self.db_range / 2.0) + 1.0
            frames = ops.shape(scaled)[1]
            scaled = ops.reshape(scaled, (batch, channels, frames, self.nb_bins))
            scaled = ops.transpose(scaled, (0, 2, 3, 1))  # [batch, frames, bins, channels]
            return ops.reshape(scaled, (batch, frames, self.nb_bins * channels))

        def compute_output_shape(self, input_shape):
            time = input_shape[1]
            frames = None if time is None else -(-int(time) // self.hop)
            return (input_shape[0], frames, self.nb_bins * int(input_shape[-1]))

        def get_config(self):
            return {**super().get_config(), "n_dft": self.n_dft, "hop": self.hop,
                    "amin": self.amin, "db_range": self.db_range}

    log.debug("registered napari_das custom Keras layers")
    return types.SimpleNamespace(ChannelNormalization=ChannelNormalization,
                                 TrainableSTFT=TrainableSTFT)
