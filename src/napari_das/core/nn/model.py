"""The TCN of DAS (spec 3) in Keras 3, with the optional trainable STFT frontend.

TensorFlow/Keras is imported only inside the functions that need it, so ``import
napari_das.core.nn.model`` stays cheap and TensorFlow-free.

Architecture (spec 3.3-3.5)::

    audio [batch, time, C]
      -> TrainableSTFT (if nb_pre_conv > 0: stride hop = 2**nb_pre_conv, bins*C features)
      -> Conv1D(F, 1)
      -> nb_conv stacks x dilations residual blocks:
             dilated Conv1D(F, k, d, "same") | SeparableConv1D(F, k, d, depth multiplier 4)
             -> ChannelNormalization (relu, / max over filters) -> SpatialDropout1D
             -> Conv1D(F, 1) -> residual add; the 1x1 output is also a skip output
      -> sum of skips -> relu -> [Bidirectional LSTM] -> Dense(K, softmax)
      -> UpSampling1D(hop) (if nb_pre_conv > 0 and upsample)

The model is fully convolutional: it runs on any input length that is a multiple of ``hop``, and
with the fixed-reference STFT its outputs at a sample depend only on the input within the
receptive field (so predicting long recordings in overlapping blocks is exact when blocks start at
multiples of ``hop``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..config import NetworkConfig
from ..errors import DasError
from ..io.files import model_stem
from ..io.params import load_params

log = logging.getLogger(__name__)

MODEL_SUFFIXES = ("_model.keras", "_model.h5")
SEPARABLE_DEPTH_MULTIPLIER = 4


def receptive_field_samples(network: NetworkConfig) -> int:
    """Input samples that can influence one output sample (union over positions in a hop).

    Equal to :attr:`NetworkConfig.receptive_field`; see :func:`receptive_extent` for the split
    into past and future samples.
    """
    left, right = receptive_extent(network)
    return left + right + 1


def receptive_extent(network: NetworkConfig) -> tuple[int, int]:
    """Samples before and after an output sample that can influence it.

    TensorFlow's "same" padding puts ``floor((k-1)*d/2)`` taps in the past and the rest in the
    future, so for even kernels the future extent is larger.  With the STFT frontend the extents
    are the worst case over the position of the output sample inside its frame (inputs whose
    length is a multiple of ``hop``).

    Returns
    -------
    (int, int)
        ``(past, future)`` in input samples.
    """
    return network.receptive_extent


def build_model(network: NetworkConfig, nb_channels: int, nb_classes: int,
                learning_rate: Any = 0.0005, compile: bool = True,
                ema_momentum: float = 0.0) -> Any:
    """Build (and compile) the TCN.

    Parameters
    ----------
    network : NetworkConfig
        Architecture (validated here).
    nb_channels : int
        Audio channels ``C`` of the input ``[batch, time, C]``.
    nb_classes : int
        Classes ``K`` of the softmax output ``[batch, time, K]``.
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule
        Adam learning rate.
    compile : bool
        Compile with Adam (``clipnorm=1.0``, per tensor) and categorical cross-entropy; temporal
        sample weights ``[batch, time]`` can then be passed to ``fit``.

    Returns
    -------
    keras.Model
        Input ``[batch, None, C]`` (length a multiple of ``network.hop``), output ``[batch,
        time, K]`` at the audio rate (``time / hop`` steps if ``upsample`` is False).
    """
    import keras

    network = network.validated()
    if int(nb_channels) < 1:
        raise DasError(f"the audio needs at least one channel, got {nb_channels}")
    if int(nb_classes) < 1:
        raise DasError(f"the model needs at least one class, got {nb_classes}")
    custom = _custom_layers()
    L = keras.layers
    nb_filters = int(network.nb_filters)

    audio = keras.Input(shape=(None, int(nb_channels)), name="audio")
    x = audio
    if network.nb_pre_conv > 0:
        x = custom.TrainableSTFT(n_dft=network.pre_nb_dft, hop=network.hop,
                                 name="trainable_stft")(x)
    h = L.Conv1D(nb_filters, 1, name="input_conv")(x)
    skips = []
    for stack, separable in enumerate(network.separable_per_stack):
        for dilation in network.dilations:
            tag = f"s{stack}_d{int(dilation)}"
            if separable:
                c = L.SeparableConv1D(nb_filters, network.kernel_size, padding="same",
                                      dilation_rate=int(dilation),
                                      depth_multiplier=SEPARABLE_DEPTH_MULTIPLIER,
                                      name=f"{tag}_separable_conv")(h)
            else:
                c = L.Conv1D(nb_filters, network.kernel_size, padding="same",
                             dilation_rate=int(dilation), name=f"{tag}_conv")(h)
            a = custom.ChannelNormalization(name=f"{tag}_norm_relu")(c)
            if network.dropout_rate > 0:
                a = L.SpatialDropout1D(network.dropout_rate, name=f"{tag}_dropout")(a)
            o = L.Conv1D(nb_filters, 1, name=f"{tag}_1x1_conv")(a)
            h = L.Add(name=f"{tag}_residual")([h, o])
            skips.append(o)
    z = skips[0] if len(skips) == 1 else L.Add(name="skip_sum")(skips)
    z = L.Activation("relu", name="skip_relu")(z)
    if network.nb_lstm_units > 0:
        z = L.Bidirectional(L.LSTM(network.nb_lstm_units, return_sequences=True),
                            name="bilstm")(z)
    y = L.Dense(int(nb_classes), activation="softmax", name="class_probabilities")(z)
    if network.nb_pre_conv > 0 and network.upsample:
        y = L.UpSampling1D(network.hop, name="upsample")(y)
    model = keras.Model(audio, y, name="das_tcn")
    if compile:
        compile_model(model, learning_rate, ema_momentum=ema_momentum)
    return model


def compile_model(model: Any, learning_rate: Any = 0.0005, ema_momentum: float = 0.0) -> Any:
    """Compile with Adam (per-tensor ``clipnorm=1.0``) and categorical cross-entropy (spec 3.6).

    ``learning_rate`` is a number or a Keras learning-rate schedule.  Keras 3 weights per-step
    losses by temporal sample weights ``[batch, time]`` and averages over all batch*time elements.
    Adam's slots are made here, not inside the first traced training step: otherwise TensorFlow
    traces that step twice (once only to create them), about 4 s on 2 cores.  ``ema_momentum``
    > 0 keeps an exponential moving average of the weights in the optimizer (swapped in for
    validation and saving by ``keras.callbacks.SwapEMAWeights``).
    """
    import keras

    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = float(learning_rate)
    ema = float(ema_momentum) > 0
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=1.0, use_ema=ema,
                                      ema_momentum=float(ema_momentum) if ema else 0.99)
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy())
    model.optimizer.build(model.trainable_variables)
    return model


def resolve_model_path(path: str | os.PathLike) -> Path:
    """The model file for ``path``: a ``.keras``/``.h5`` file or a save-name stem.

    A stem tries ``<stem>_model.keras`` then ``<stem>_model.h5``.  Raises DasError when none
    exists.
    """
    p = Path(os.fspath(path))
    if p.suffix in (".keras", ".h5"):
        if not p.is_file():
            raise DasError("model file not found: check the path or train a model first", p)
        return p
    p = Path(model_stem(p))
    for suffix in MODEL_SUFFIXES:
        candidate = p.with_name(p.name + suffix)
        if candidate.is_file():
            return candidate
    raise DasError(f"no model file {p.name}_model.keras or {p.name}_model.h5: pass the save name "
                   "(path stem before _model.h5) of a trained model", p)


def load_model(path: str | os.PathLike) -> Any:
    """Load a saved model (uncompiled) from a ``.keras``/``_model.h5`` file or save-name stem.

    Parameters
    ----------
    path : str or PathLike
        ``<stem>_model.keras``, ``<stem>_model.h5``, any ``.keras``/``.h5`` model file, or the
        stem (``<stem>_model.keras`` is preferred over ``<stem>_model.h5``).

    A ``_model.h5`` written since napari-das writes DAS's weight layout holds only weights: the
    network is built from ``<stem>_params.yaml`` next to it.  Older ``_model.h5`` files (whole
    Keras 3 models) still load as they are.

    Returns
    -------
    keras.Model
        The model, not compiled (call :func:`compile_model` to train it).
    """
    file = resolve_model_path(path)
    from .das_import import is_weights_file

    if file.suffix == ".h5" and is_weights_file(file):  # weights in DAS's layout + our params
        return load_weights_file(file, load_params(model_stem(file)))
    import keras

    try:
        model = keras.saving.load_model(file, custom_objects=custom_objects(), compile=False)
    except Exception as err:  # corrupt, truncated or foreign files
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise DasError(f"cannot load the model ({type(err).__name__}: {first_line}); "
                       "the file may be corrupt or from an incompatible version", file) from err
    log.info("loaded model %s", file)
    return model


def load_weights_file(path: str | os.PathLike, params: dict[str, Any]) -> Any:
    """Our network for ``params`` with the weights of a
    :func:`~napari_das.core.nn.das_import.write_das_h5` file (uncompiled).

    Built as training built it: :func:`build_model`, or DAS's network for a fine-tuned DAS model
    (``das_chunk_layout`` in the params).  Here and not in ``das_import`` so that module does
    not import this one (no import cycle).
    """
    from .das_import import (
        DAS_LAYOUT_KEY,
        assign_weights,
        build_das_model,
        das_network,
        read_h5_weights,
    )

    path = Path(os.fspath(path))
    saved = read_h5_weights(path)
    nb_classes = int(params.get("nb_classes") or len(params.get("class_names") or []) or
                     saved[-1][2][-1].shape[-1])
    channels = int(params.get("nb_channels") or params.get("nb_freq") or 0)
    if not channels:
        if saved[0][1] == "stft":
            raise DasError("the params do not say how many channels the model takes "
                           "(nb_channels)", path)
        channels = int(saved[0][2][0].shape[1])
    if params.get(DAS_LAYOUT_KEY):
        model = build_das_model(das_network(params, path), channels, nb_classes)
    else:
        model = build_model(network_from_params(params), channels, nb_classes, compile=False)
    assign_weights(model, saved, path)
    log.info("loaded model %s (weights in DAS's layout, %d layers with weights)", path,
             len(saved))
    return model


def network_from_params(params: dict[str, Any]) -> NetworkConfig:
    """The :class:`NetworkConfig` stored in a ``_params.yaml`` dict (DAS names)."""
    values = dict(params)
    if "nb_kernels" in values and "nb_filters" not in values:
        values["nb_filters"] = values["nb_kernels"]
    if "pre_nb_conv" in values and "nb_pre_conv" not in values:
        values["nb_pre_conv"] = values["pre_nb_conv"]
    for key in ("use_separable", "dilations"):
        if key in values and not isinstance(values[key], list | tuple):
            values[key] = [values[key]]
    try:
        return NetworkConfig.from_dict(values).validated()
    except TypeError as err:
        raise DasError(f"the params do not describe a network ({err})") from err


def load_model_and_params(stem_or_path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """Load ``<stem>_model.keras|h5`` and ``<stem>_params.yaml`` and check they belong together.

    Raises
    ------
    DasError
        Missing files, an unloadable model, or a model whose class/channel count differs from
        the params.
    """
    from .das_import import is_das_stem, load_das_model

    stem = model_stem(stem_or_path)
    params = load_params(stem)
    if params.get("stopped") and params.get("epochs_completed") == 0:
        raise DasError("its training was stopped before the first epoch ended, so there is no "
                       "trained model: train again", stem)
    if is_das_stem(stem):  # a DAS model: rebuilt from its params, never deserialised
        return load_das_model(stem, params)
    model = load_model(stem)
    nb_classes = int(model.output_shape[-1])
    names = params.get("class_names") or []
    if names and len(names) != nb_classes:
        raise DasError(f"the model predicts {nb_classes} classes but its params list "
                       f"{len(names)} ({', '.join(map(str, names))}): the _model and _params "
                       "files come from different trainings", stem)
    channels = params.get("nb_channels")
    if channels and int(channels) != int(model.input_shape[-1]):
        raise DasError(f"the model takes {model.input_shape[-1]} channel(s) but its params say "
                       f"{channels}: the _model and _params files do not belong together", stem)
    network_from_params(params)  # architecture keys readable
    return model, params


def model_flops_per_sample(network: NetworkConfig, nb_channels: int, nb_classes: int) -> float:
    """Floating-point operations (2 per multiply-add) per input audio sample of a forward pass.

    Counts the STFT, convolutions, LSTM and dense layers analytically (biases, activations and
    normalisations are negligible and not counted).  With the frontend, everything after the
    STFT runs once per ``hop`` samples.
    """
    network = network.validated()
    nb_filters, kernel = int(network.nb_filters), int(network.kernel_size)
    channels, classes, hop = int(nb_channels), int(nb_classes), network.hop
    macs_per_sample = 0.0
    features = channels
    if network.nb_pre_conv > 0:
        bins = network.pre_nb_dft // 2 + 1
        # real and imaginary kernels per channel, then the power (2 MAC per bin)
        macs_per_sample += channels * (2 * network.pre_nb_dft * bins + 2 * bins) / hop
        features = bins * channels
    macs_per_step = features * nb_filters  # input 1x1 conv
    for separable in network.separable_per_stack:
        if separable:
            depth = SEPARABLE_DEPTH_MULTIPLIER * nb_filters
            block = kernel * depth + depth * nb_filters
        else:
            block = kernel * nb_filters * nb_filters
        block += nb_filters * nb_filters  # 1x1 conv
        macs_per_step += block * len(network.dilations)
    head_in = nb_filters
    if network.nb_lstm_units > 0:
        units = int(network.nb_lstm_units)
        macs_per_step += 2 * 4 * units * (nb_filters + units)  # two directions, four gates
        head_in = 2 * units
    macs_per_step += head_in * classes
    macs_per_sample += macs_per_step / hop
    return float(2 * macs_per_sample)


def custom_objects() -> dict[str, Any]:
    """Register the custom layers with Keras and return them by class name.

    Call before ``keras.saving.load_model`` on a model file of ours (e.g. a compiled
    ``_checkpoint.keras``); :func:`load_model` does it itself.
    """
    from .das_import import das_layers

    custom = _custom_layers()
    return {"ChannelNormalization": custom.ChannelNormalization,
            "TrainableSTFT": custom.TrainableSTFT,
            "DasSpectrogram": das_layers().DasSpectrogram}


def _custom_layers():
    from .layers import custom_layers

    return custom_layers()
