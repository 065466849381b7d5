"""Loading models trained by the original DAS (``<stem>_model.h5`` + ``<stem>_params.yaml``), and
writing our ``_model.h5`` in DAS's weight layout so that DAS can load it.

DAS's model files hold a Keras 2 ``Lambda`` layer (Python bytecode for the channel
normalisation) and its custom ``Spectrogram`` layer, so they are never deserialised here
(DAS_REFERENCE 3.7): the network is rebuilt from the params with our registered layers, and the
weights are read from the HDF5 groups with h5py and assigned by creation order (input conv, then
per residual block the dilated conv and the 1x1 conv, then the optional LSTM and the dense head).
Layer names are never used: DAS's names carry session counters.

DAS's numerics are kept: :class:`DasSpectrogram` scales each chunk by its own maximum (10 log10 of
the magnitude, minus the chunk's maximum, floored at -80 dB), and the model takes chunks of
``nb_hist`` samples (see :mod:`napari_das.core.inference.das_layout` for DAS's chunk layout).  Together they
reproduce DAS's probabilities (tests compare with DAS's own output).

Families (DAS 0.32 ``model_dict``): ``tcn`` and ``tcn_stft`` (with or without the STFT frontend,
separable blocks, any channel count, optional BiLSTM) load; ``tcn_stft_morph`` loads when it has
no morphological kernels; anything else (``stft_res_dense``, classification mode
``with_y_hist=False``, ``upsample=False``) is refused with a one-line :class:`DasError`.

Writing (:func:`write_das_h5`) inverts the same mapping: our layers with weights, in creation
order, become HDF5 groups named and laid out as in the files DAS writes (``conv1d``,
``conv1d_1``, ..., ``separable_conv1d_k``, ``trainable_stft``, ``bidirectional``, ``dense``; weight
names ``<layer>/kernel:0`` ...).  The file holds no ``model_config``: Keras 2's ``load_model`` then
raises ValueError, which DAS's loader catches before it builds the network from ``_params.yaml``
with its own model functions and loads these weights by order.  We read it back the same way
(network from the params, weights by creation order).

TensorFlow/Keras is imported only inside the functions that build or load a model.
"""

from __future__ import annotations

import json
import logging
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DasError

log = logging.getLogger(__name__)

#: Key added to the params of an imported (or fine-tuned) DAS model: predict in DAS's chunks.
DAS_LAYOUT_KEY = "das_chunk_layout"
#: Root attribute of a ``_model.h5`` written by :func:`write_das_h5` (weights only, DAS layout).
WEIGHTS_FORMAT_ATTR = "napari_das_format"
WEIGHTS_FORMAT = "das-weights-1"
#: Model families this importer rebuilds.
SUPPORTED_MODELS = ("tcn", "tcn_stft", "tcn_stft_morph")
#: Families of DAS 0.32 that are refused (with the reason).
REFUSED_MODELS = {"stft_res_dense": "a dense network with one label per chunk",
                  "tcn_tcn": "a legacy model", "tcn_small": "a legacy model",
                  "tcn_multi": "a legacy model", "cnn": "a legacy model", "fcn": "a legacy model"}
DAS_DB_FLOOR = -80.0
DAS_AMIN = 1e-10
SEPARABLE_DEPTH = 4

_LAYERS: types.SimpleNamespace | None = None


# ------------------------------------------------------------------------------------ detection
def model_file_classes(path: str | os.PathLike) -> tuple[str, list[str]]:
    """``(keras_version, [layer class names])`` of a Keras HDF5 model file, read as JSON only.

    Returns ``("", [])`` for files that are not Keras HDF5 models.
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version", b"")
            config = f.attrs.get("model_config")
    except OSError:
        return "", []
    version = version.decode() if isinstance(version, bytes) else str(version)
    if config is None:
        return version, []
    try:
        layers = json.loads(config.decode() if isinstance(config, bytes) else config)
        layers = layers.get("config", {}).get("layers", [])
        return version, [str(layer.get("class_name", "")) for layer in layers]
    except (ValueError, AttributeError):
        return version, []


def is_weights_file(path: str | os.PathLike) -> bool:
    """True for a ``_model.h5`` napari-das wrote in DAS's layout (:func:`write_das_h5`)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get(WEIGHTS_FORMAT_ATTR)
    except OSError:
        return False
    value = value.decode() if isinstance(value, bytes) else value
    return isinstance(value, str) and value.startswith("das-weights-")


def is_das_model_file(path: str | os.PathLike) -> bool:
    """True for a ``_model.h5`` written by DAS (Keras 2, or holding its Lambda/Spectrogram)."""
    if is_weights_file(path):
        return False
    version, classes = model_file_classes(path)
    return version.startswith("2.") or bool({"Lambda", "Spectrogram"} & set(classes))


# ------------------------------------------------------------------------------------ architecture
@dataclass(frozen=True)
class DasNetwork:
    """The architecture keys of a DAS ``_params.yaml`` (spec 3.3-3.5, 4.1)."""

    model_name: str
    nb_hist: int
    nb_filters: int
    kernel_size: int
    nb_conv: int
    dilations: tuple[int, ...]
    separable: tuple[bool, ...]
    nb_pre_conv: int
    pre_nb_dft: int
    nb_lstm_units: int
    data_padding: int
    stride: int

    @property
    def hop(self) -> int:
        return 2 ** self.nb_pre_conv if self.nb_pre_conv > 0 else 1


def das_network(params: dict[str, Any], where: Any = None) -> DasNetwork:
    """The DAS architecture in ``params``; DasError (one line) for families we do not rebuild."""
    name = str(params.get("model_name") or "tcn")
    if name in REFUSED_MODELS or name not in SUPPORTED_MODELS:
        what = REFUSED_MODELS.get(name, "not a model family of DAS 0.32")
        raise DasError(f"DAS model_name {name!r} is not supported by napari-das ({what}); "
                       f"supported: {', '.join(SUPPORTED_MODELS)}", where)
    if params.get("with_y_hist") is False:
        raise DasError(f"DAS model_name {name!r} in classification mode (with_y_hist=False) is "
                       "not supported by napari-das: it labels one sample per chunk", where)
    if int(params.get("morph_nb_kernels") or 0) > 0 or (
            name == "tcn_stft_morph" and "morph_nb_kernels" not in params):
        raise DasError(f"DAS model_name {name!r} with morphological post-processing layers is "
                       "not supported by napari-das", where)
    nb_pre_conv = int(params.get("nb_pre_conv") or params.get("pre_nb_conv") or 0)
    if nb_pre_conv > 0 and params.get("upsample") is False:
        raise DasError(f"DAS model_name {name!r} with upsample=False is not supported by "
                       "napari-das: it predicts one label per STFT frame", where)
    nb_conv = int(params.get("nb_conv", 3))
    sep = params.get("use_separable", False)
    sep = [bool(s) for s in (sep if isinstance(sep, list | tuple) else [sep])] or [False]
    sep = (sep + [sep[-1]] * nb_conv)[:nb_conv]
    dilations = params.get("dilations") or [1, 2, 4, 8, 16]
    dilations = dilations if isinstance(dilations, list | tuple) else [dilations]
    nb_hist = int(params.get("nb_hist", 1024))
    kernel = int(params.get("kernel_size", 16))
    pad = params.get("data_padding")
    if pad is None:
        pad = int(np.ceil(kernel * nb_conv)) if params.get("ignore_boundaries", True) else 0
    stride = int(params.get("stride") or nb_hist - 2 * int(pad))
    if stride <= 0 or stride != nb_hist - 2 * int(pad):
        raise DasError(f"the DAS params have stride {stride}, nb_hist {nb_hist} and "
                       f"data_padding {pad}, which do not fit together", where)
    return DasNetwork(model_name=name, nb_hist=nb_hist,
                      nb_filters=int(params.get("nb_filters") or params.get("nb_kernels") or 16),
                      kernel_size=kernel, nb_conv=nb_conv,
                      dilations=tuple(int(d) for d in dilations), separable=tuple(sep),
                      nb_pre_conv=nb_pre_conv, pre_nb_dft=int(params.get("pre_nb_dft", 64)),
                      nb_lstm_units=int(params.get("nb_lstm_units") or 0),
                      data_padding=int(pad), stride=stride)


def das_layers() -> types.SimpleNamespace:
    """Define and register (package ``napari_das``) the layer for DAS's STFT numerics."""
    global _LAYERS
    if _LAYERS is None:
        _LAYERS = _define_layers()
    return _LAYERS


def _define_layers() -> types.SimpleNamespace:
    import keras
    from keras import ops

    from .layers import dft_kernels

    @keras.saving.register_keras_serializable(package="napari_das")
    class DasSpectrogram(keras.layers.Layer):
        """DAS's trainable STFT (spec 3.3): magnitude in dB relative to the chunk's maximum.

        Input ``[batch, time, C]``; output ``[batch, ceil(time / hop), bins * C]`` (bin-major,
        channel-minor), values in ``[-80, 0]``: ``10 log10(max(|STFT|, 1e-10))`` minus its
        maximum over frames, bins and channels of the same batch element, floored at -80.
        """

        def __init__(self, n_dft: int = 64, hop: int = 16, **kwargs):
            super().__init__(**kwargs)
            self.n_dft, self.hop = int(n_dft), int(hop)
            self.nb_bins = self.n_dft // 2 + 1

        def build(self, input_shape):
            self.nb_channels = int(input_shape[-1])
            real, imag = dft_kernels(self.n_dft)
            self.real_kernels = self.add_weight(
                name="real_kernels", shape=real.shape, trainable=True,
                initializer=lambda shape, dtype=None: ops.convert_to_tensor(real, dtype=dtype))
            self.imag_kernels = self.add_weight(
                name="imag_kernels", shape=imag.shape, trainable=True,
                initializer=lambda shape, dtype=None: ops.convert_to_tensor(imag, dtype=dtype))

        def call(self, inputs):
            batch, time = ops.shape(inputs)[0], ops.shape(inputs)[1]
            mono = ops.reshape(ops.transpose(inputs, (0, 2, 1)), (-1, time, 1))
            kernel = ops.concatenate(
                [ops.reshape(self.real_kernels, (self.n_dft, 1, self.nb_bins)),
                 ops.reshape(self.imag_kernels, (self.n_dft, 1, self.nb_bins))], axis=-1)
            spectrum = ops.conv(mono, kernel, strides=self.hop, padding="same")
            real, imag = spectrum[..., : self.nb_bins], spectrum[..., self.nb_bins:]
            magnitude = ops.sqrt(real * real + imag * imag)
            decibel = 10.0 * ops.log(ops.maximum(magnitude, DAS_AMIN)) / np.log(10.0)
            frames = ops.shape(decibel)[1]
            decibel = ops.reshape(decibel, (batch, self.nb_channels, frames, self.nb_bins))
            decibel = decibel - ops.max(decibel, axis=(1, 2, 3), keepdims=True)
            decibel = ops.maximum(decibel, DAS_DB_FLOOR)
            decibel = ops.transpose(decibel, (0, 2, 3, 1))  # [batch, frames, bins, channels]
            return ops.reshape(decibel, (batch, frames, self.nb_bins * self.nb_channels))

        def compute_output_shape(self, input_shape):
            time = input_shape[1]
            frames = None if time is None else -(-int(time) // self.hop)
            return (input_shape[0], frames, self.nb_bins * int(input_shape[-1]))

        def get_config(self):
            return {**super().get_config(), "n_dft": self.n_dft, "hop": self.hop}

    return types.SimpleNamespace(DasSpectrogram=DasSpectrogram)


def build_das_model(net: DasNetwork, nb_channels: int, nb_classes: int) -> Any:
    """DAS's network (spec 3.3-3.5) from registered layers, input ``[batch, nb_hist, C]``."""
    import keras

    from .layers import custom_layers

    L = keras.layers
    norm = custom_layers().ChannelNormalization
    filters = net.nb_filters
    audio = keras.Input(shape=(net.nb_hist, int(nb_channels)), name="audio")
    x = audio
    if net.nb_pre_conv > 0:
        x = das_layers().DasSpectrogram(n_dft=net.pre_nb_dft, hop=net.hop,
                                        name="das_stft")(x)
    h = L.Conv1D(filters, 1, padding="same", name="input_conv")(x)
    skips = []
    for stack, separable in enumerate(net.separable):
        for dilation in net.dilations:
            tag = f"s{stack}_d{dilation}"
            if separable:
                c = L.SeparableConv1D(filters, net.kernel_size, padding="same",
                                      dilation_rate=dilation, depth_multiplier=SEPARABLE_DEPTH,
                                      name=f"{tag}_separable_conv")(h)
            else:
                c = L.Conv1D(filters, net.kernel_size, padding="same", dilation_rate=dilation,
                             name=f"{tag}_conv")(h)
            a = norm(name=f"{tag}_norm_relu")(c)
            o = L.Conv1D(filters, 1, padding="same", name=f"{tag}_1x1_conv")(a)
            h = L.Add(name=f"{tag}_residual")([h, o])
            skips.append(o)
    z = skips[0] if len(skips) == 1 else L.Add(name="skip_sum")(skips)
    z = L.Activation("relu", name="skip_relu")(z)
    if net.nb_lstm_units > 0:
        z = L.Bidirectional(L.LSTM(net.nb_lstm_units, return_sequences=True), name="bilstm")(z)
    y = L.Dense(int(nb_classes), activation="softmax", name="class_probabilities")(z)
    if net.nb_pre_conv > 0:
        y = L.UpSampling1D(net.hop, name="upsample")(y)
    return keras.Model(audio, y, name="das_import")


# ------------------------------------------------------------------------------------ weights
def _kind(class_or_weights: Any) -> str:
    text = " ".join(class_or_weights) if isinstance(class_or_weights, list) else \
        str(class_or_weights)
    text = text.lower()
    for key, kind in (("real_kernels", "stft"), ("depthwise", "separable"), ("lstm", "lstm"),
                      ("bidirectional", "lstm"), ("dense", "dense"), ("conv", "conv")):
        if key in text:
            return kind
    return "other"


def read_h5_weights(path: str | os.PathLike) -> list[tuple[str, str, list[np.ndarray]]]:
    """``[(layer name, kind, [arrays in saved order])]`` of the layers with weights, in the
    order the file lists them (Keras writes layers in creation order)."""
    import h5py

    out = []
    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in group.attrs.get("layer_names", [])]
            for name in names:
                layer = group[name]
                weight_names = [w.decode() if isinstance(w, bytes) else str(w)
                                for w in layer.attrs.get("weight_names", [])]
                if weight_names:
                    arrays = [np.asarray(layer[w]) for w in weight_names]
                    out.append((name, _kind(weight_names), arrays))
    except (OSError, KeyError) as err:
        raise DasError(f"cannot read the weights of this model file ({err})", path) from None
    if not out:
        raise DasError("the model file holds no layer weights", path)
    return out


_LAYER_KINDS = {"Conv1D": "conv", "SeparableConv1D": "separable", "DasSpectrogram": "stft",
                "TrainableSTFT": "stft", "Dense": "dense", "Bidirectional": "lstm"}


def assign_weights(model: Any, saved: list[tuple[str, str, list[np.ndarray]]],
                   where: Any = None) -> None:
    """Copy ``saved`` (from :func:`read_h5_weights`) into ``model`` by creation order.

    Every layer of ``model`` with weights takes the next saved layer; kinds and shapes must agree
    and every saved layer must be used, otherwise DasError (never a partial load).
    """
    targets = [layer for layer in model.layers if layer.weights]
    if len(targets) != len(saved):
        raise DasError(f"the model file has {len(saved)} layers with weights but the params "
                       f"describe {len(targets)}: the _model.h5 and _params.yaml do not belong "
                       "together", where)
    for layer, (name, kind, arrays) in zip(targets, saved):
        ours = _LAYER_KINDS.get(type(layer).__name__, "other")
        if kind != ours:
            raise DasError(f"layer {name} ({kind}) of the model file does not match the "
                           f"network rebuilt from the params ({layer.name}): the files do not "
                           "belong together", where)
        shapes = [tuple(w.shape) for w in layer.weights]
        if shapes != [a.shape for a in arrays]:
            raise DasError(f"layer {name} of the model file has weights of shapes "
                           f"{[a.shape for a in arrays]}, the params describe {shapes}: the "
                           "_model.h5 and _params.yaml do not belong together", where)
        layer.set_weights(arrays)


def load_das_model(stem: str | os.PathLike, params: dict[str, Any] | None = None) -> tuple:
    """Rebuild a DAS model from ``<stem>_params.yaml`` and load ``<stem>_model.h5``'s weights.

    Returns
    -------
    (keras.Model, dict)
        The model (input ``[batch, nb_hist, C]``) and the params with
        ``das_chunk_layout: True`` (predict it in DAS's chunks).
    """
    from ..io.files import result_paths
    from ..io.params import load_params

    paths = result_paths(stem)
    model_file = Path(paths["model"])
    if params is None:
        params = load_params(stem)
    net = das_network(params, model_file)
    nb_classes = int(params.get("nb_classes") or len(params.get("class_names") or []) or 0)
    saved = read_h5_weights(model_file)
    if not nb_classes:
        nb_classes = int(saved[-1][2][-1].shape[-1])
    first = saved[0][2][0]  # input layer: conv (1, C_in, F) or STFT kernels
    channels = int(params.get("nb_channels") or params.get("nb_freq") or 0)
    if not channels:
        channels = 1 if saved[0][1] == "stft" else int(first.shape[1])
    model = build_das_model(net, channels, nb_classes)
    assign_weights(model, saved, model_file)
    log.info("imported DAS model %s (%s, %d layers with weights)", model_file, net.model_name,
             len(saved))
    return model, {**params, DAS_LAYOUT_KEY: True}


def is_das_stem(stem: str | os.PathLike) -> bool:
    """True when ``stem`` names a DAS model: no ``_model.keras`` of ours, a DAS ``_model.h5``."""
    from ..io.files import result_paths

    paths = result_paths(stem)
    if Path(paths["model_keras"]).is_file() or not Path(paths["model"]).is_file():
        return False
    return is_das_model_file(paths["model"])


# ------------------------------------------------------------------------------------ writing
#: Per kind: the name Keras 2 gives DAS's layer (before its session counter) and the weight
#: names inside it, in the order Keras 2 saves and loads them (the DAS-written reference files;
#: the LSTM names as TensorFlow 2.13's Keras gives a Bidirectional(LSTM)).
_DAS_LAYER_NAMES = {"conv": "conv1d", "separable": "separable_conv1d", "stft": "trainable_stft",
                    "dense": "dense", "lstm": "bidirectional"}
_DAS_WEIGHT_NAMES = {
    "conv": ("kernel", "bias"),
    "separable": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "stft": ("real_kernels", "imag_kernels"),
    "dense": ("kernel", "bias"),
    "lstm": tuple(f"{side}_lstm/lstm_cell/{w}" for side in ("forward", "backward")
                  for w in ("kernel", "recurrent_kernel", "bias")),
}


def das_h5_layout(model: Any) -> list[tuple[str, list[str], list[np.ndarray]]]:
    """``[(layer name, [weight names], [float32 arrays])]`` of ``model`` in DAS's h5 layout.

    The inverse of :func:`read_h5_weights` + :func:`assign_weights`: the layers with weights in
    creation order, named as Keras 2 names the layers of the network DAS builds from the same
    params (``conv1d``, ``conv1d_1``, ...), so that Keras 2's ``load_weights`` by order fills it.
    """
    from keras import ops

    counters: dict[str, int] = {}
    out = []
    for layer in model.layers:
        if not layer.weights:
            continue
        kind = _LAYER_KINDS.get(type(layer).__name__)
        if kind is None:
            raise DasError(f"layer {layer.name} ({type(layer).__name__}) has no counterpart in "
                           "DAS's networks: cannot write it in DAS's layout")
        base = _DAS_LAYER_NAMES[kind]
        number = counters.get(base, 0)
        counters[base] = number + 1
        name = base if number == 0 else f"{base}_{number}"
        suffixes = _DAS_WEIGHT_NAMES[kind]
        if len(layer.weights) != len(suffixes):
            raise DasError(f"layer {layer.name} has {len(layer.weights)} weights, DAS's "
                           f"{base} has {len(suffixes)}: cannot write it in DAS's layout")
        arrays = [np.asarray(ops.convert_to_numpy(w), dtype=np.float32) for w in layer.weights]
        out.append((name, [f"{name}/{suffix}:0" for suffix in suffixes], arrays))
    return out


def write_das_h5(model: Any, path: str | os.PathLike) -> Path:
    """Write ``model``'s weights to ``path`` in the layout of DAS's ``_model.h5`` (atomically).

    No ``model_config`` is written: Keras 2's ``load_model`` fails with ValueError ("No model
    config found"), which DAS's loader catches before building the network from
    ``_params.yaml`` and loading these weights by order.  Our loaders read it the same way.
    """
    import h5py
    import keras

    from ..io.files import replaced_file

    path = Path(os.fspath(path))
    layout = das_h5_layout(model)
    with replaced_file(path) as temp_name, h5py.File(temp_name, "w") as f:
        f.attrs[WEIGHTS_FORMAT_ATTR] = WEIGHTS_FORMAT
        group = f.create_group("model_weights")
        for attrs in (f.attrs, group.attrs):
            attrs["backend"] = "tensorflow"
            attrs["keras_version"] = str(keras.__version__)
        group.attrs["layer_names"] = [name.encode() for name, _, _ in layout]
        for name, weight_names, arrays in layout:
            layer = group.create_group(name)
            layer.attrs["weight_names"] = [w.encode() for w in weight_names]
            for weight_name, array in zip(weight_names, arrays):
                layer.create_dataset(weight_name, data=array)
    return path
