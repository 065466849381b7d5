"""``das train --init-from STEM``: fine-tune a trained model (ours or one trained by DAS).

The architecture comes from the source model's params (the network options of the command line
are replaced); the weights from its model file.  A DAS model keeps DAS's numerics: its STFT
layer scales every chunk by its maximum, so it is trained on DAS's chunk geometry (``nb_hist``,
DAS's ``data_padding``) and its params carry ``das_chunk_layout`` so that prediction runs DAS's
chunk layout (:mod:`napari_das.core.inference.das_layout`).  The dataset must have the source
model's song types (same names, same order) and channel count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..config import NetworkConfig
from ..errors import DasError
from ..io.files import strip_result_suffix
from ..io.params import load_params
from ..nn.das_import import DAS_LAYOUT_KEY, das_network, is_das_stem

log = logging.getLogger(__name__)

#: DAS architecture keys copied into the params of a model fine-tuned from a DAS model.
DAS_KEYS = ("model_name", "nb_hist", "nb_filters", "kernel_size", "nb_conv", "dilations",
            "use_separable", "nb_pre_conv", "pre_nb_dft", "nb_lstm_units", "upsample",
            "data_padding", "stride")


@dataclass
class InitSource:
    """The model a run starts from."""

    stem: str
    params: dict[str, Any]
    network: NetworkConfig
    das: bool

    @property
    def data_padding(self) -> int | None:
        """DAS's chunk margin (training geometry of a DAS model), None for our models."""
        return int(self.params["data_padding"]) if self.das else None

    def extra_params(self) -> dict[str, Any]:
        """Keys added to the new run's params."""
        extra: dict[str, Any] = {"init_from": self.stem}
        if self.das:
            extra.update({k: self.params[k] for k in DAS_KEYS if k in self.params})
            extra[DAS_LAYOUT_KEY] = True
        return extra


def init_source(init_from: str) -> InitSource:
    """Read the source model's params (no TensorFlow); DasError for unusable models."""
    stem = strip_result_suffix(str(init_from))
    params = load_params(stem)
    das = is_das_stem(stem) or bool(params.get(DAS_LAYOUT_KEY))
    if das:
        net = das_network(params, stem)  # refuses unsupported DAS families in one line
        params = {**params, "data_padding": net.data_padding, "stride": net.stride}
    values = dict(params)
    for key in ("use_separable", "dilations"):
        if key in values and not isinstance(values[key], list | tuple):
            values[key] = [values[key]]
    try:
        network = NetworkConfig.from_dict(values).validated()
    except TypeError as err:
        raise DasError(f"the params do not describe a network ({err})", stem) from None
    return InitSource(stem, params, network, das)


def check_data(source: InitSource, class_names: list[str], nb_channels: int,
               where: Any = None) -> None:
    """The dataset must have the model's classes (names and order) and channel count."""
    names = [str(n) for n in source.params.get("class_names") or []]
    if names and names != [str(n) for n in class_names]:
        raise DasError(f"the dataset's classes ({', '.join(map(str, class_names))}) differ from "
                       f"those of {source.stem} ({', '.join(names)}): fine-tuning needs the same "
                       "song types", where)
    channels = source.params.get("nb_channels") or source.params.get("nb_freq")
    if channels and int(channels) != int(nb_channels):
        raise DasError(f"the dataset has {nb_channels} channel(s) but {source.stem} takes "
                       f"{channels}", where)


def initial_model(source: InitSource, learning_rate: Any, ema_momentum: float = 0.0) -> Any:
    """The source model with its weights, compiled for training."""
    from ..nn.das_import import load_das_model
    from ..nn.model import compile_model, load_model

    if source.das and is_das_stem(source.stem):
        model, _ = load_das_model(source.stem, source.params)
    else:
        model = load_model(source.stem)
    log.info("fine-tuning %s", source.stem)
    return compile_model(model, learning_rate, ema_momentum=ema_momentum)
