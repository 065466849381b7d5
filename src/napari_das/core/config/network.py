"""``NetworkConfig``: the architecture of the TCN and the values derived from it (receptive
field, chunk margin, stride)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import DasError
from .base import ConfigBase, option

MODEL_NAMES = ("tcn", "tcn_stft")


@dataclass
class NetworkConfig(ConfigBase):
    """Architecture of the TCN (DAS names; seed dialog group "Network parameters")."""

    model_name: str = option("tcn", "network: tcn (alias tcn_stft; STFT frontend if nb_pre_conv > 0)",
                             choices=MODEL_NAMES, group="Network parameters", label="Model")
    nb_hist: int = option(1024, "chunk length in samples (network input window)", min=1,
                          group="Network parameters", label="Chunk duration (samples)")
    ignore_boundaries: bool = option(True, "ignore predictions near chunk edges (margin derived "
                                     "from the receptive field)", group="Network parameters",
                                     label="Ignore boundaries")
    nb_filters: int = option(16, "filters per convolution", min=1, aliases=("nb_kernels",),
                             group="Network parameters", label="Number of filters")
    kernel_size: int = option(16, "convolution kernel length (time steps)", min=1,
                              group="Network parameters", label="Filter duration (samples)")
    nb_conv: int = option(3, "number of TCN stacks (blocks)", min=1, group="Network parameters",
                          label="Number of TCN blocks")
    use_separable: list[bool] = option([False], "separable convolutions, one bool per stack "
                                       "(a shorter list is padded with its last value)",
                                       group="Network parameters", label="Separable TCN blocks")
    dilations: list[int] = option([1, 2, 4, 8, 16], "dilation rates of the residual blocks in "
                                  "every stack", group="Network parameters", label="Dilations")
    nb_pre_conv: int = option(0, "STFT downsampling frontend: downsample by 2**nb_pre_conv "
                              "(0: no frontend)", min=0, max=10, aliases=("pre_nb_conv",),
                              group="Network parameters", label="Downsampling (2**n)")
    pre_nb_dft: int = option(64, "STFT frontend: number of DFT filters (window length, power of 2)",
                             min=2, group="Network parameters", label="Frequency bands (DFT size)")
    upsample: bool = option(True, "upsample the output back to the audio rate",
                            group="Network parameters", label="Upsample", cli_hidden=True)
    nb_lstm_units: int = option(0, "bidirectional LSTM units after the TCN (0: none)", min=0,
                                group="Network parameters", label="LSTM units")
    dropout_rate: float = option(0.0, "spatial dropout after every dilated convolution", min=0.0,
                                 max=0.95, group="Network parameters", label="Dropout")

    def _check(self) -> None:
        if not self.dilations:
            raise DasError("--dilations needs at least one value, for example 1 2 4 8 16")
        if any(int(d) < 1 for d in self.dilations):
            raise DasError("--dilations must be positive integers")
        if self.nb_pre_conv > 0:
            if self.pre_nb_dft & (self.pre_nb_dft - 1):
                raise DasError(f"--pre-nb-dft must be a power of two, not {self.pre_nb_dft}")
            if self.nb_hist % self.hop:
                raise DasError(f"--nb-hist {self.nb_hist} is not a multiple of the downsample "
                               f"factor {self.hop} (2**nb_pre_conv): use a multiple of {self.hop}")
            if self.nb_hist < self.pre_nb_dft:
                raise DasError(f"--nb-hist {self.nb_hist} is shorter than the STFT window "
                               f"--pre-nb-dft {self.pre_nb_dft}")
        if self.nb_hist < 4 * self.hop:
            raise DasError(f"--nb-hist {self.nb_hist} is too short for the downsample factor "
                           f"{self.hop}: use at least {4 * self.hop} samples")

    # derived values -----------------------------------------------------------------------
    @property
    def hop(self) -> int:
        """Downsampling factor of the STFT frontend (1 without it)."""
        return 2 ** int(self.nb_pre_conv) if self.nb_pre_conv > 0 else 1

    @property
    def separable_per_stack(self) -> list[bool]:
        sep = [bool(s) for s in (self.use_separable or [False])]
        return (sep + [sep[-1]] * self.nb_conv)[: self.nb_conv]

    @property
    def receptive_extent(self) -> tuple[int, int]:
        """(past, future) input samples that can influence an output sample.

        TensorFlow's "same" padding puts ``floor((k-1)*d/2)`` taps of a dilated conv in the past
        and the rest in the future.  With the STFT frontend: worst case over the position of the
        output sample in its frame, for inputs whose length is a multiple of the hop.
        """
        taps = [(self.kernel_size - 1) * int(d) for d in self.dilations]
        past = self.nb_conv * sum(t // 2 for t in taps)
        future = self.nb_conv * sum(t - t // 2 for t in taps)
        if self.nb_pre_conv > 0:
            hop, n_dft = self.hop, self.pre_nb_dft
            stft_left_pad = max(n_dft - hop, 0) // 2
            return (hop - 1 + past * hop + stft_left_pad,
                    future * hop - stft_left_pad + n_dft - 1)
        return past, future

    @property
    def receptive_field(self) -> int:
        """Receptive field in input samples: samples that influence one output sample
        (``1 + S*(k-1)*sum(dilations)`` steps; with the STFT ``(steps-1)*hop + n_dft + hop - 1``,
        the union over the output positions inside a frame)."""
        past, future = self.receptive_extent
        return past + future + 1

    @property
    def data_padding(self) -> int:
        """Samples ignored by the loss at each chunk edge (0 without ``ignore_boundaries``).

        Derived from the real receptive field: its larger side (:attr:`receptive_extent`, about
        half of it), rounded up to a multiple of the hop,
        so that kept samples never see the zero padding at chunk edges.  DAS used
        ``kernel_size*nb_conv`` (48 samples for a 1396-sample receptive field).  When the margin
        covering the receptive field does not fit (more than a quarter of the chunk, or DAS's
        ``kernel_size*nb_conv`` steps up to 3/8 of it), every output of a chunk sees its zero
        padding whatever the margin: the margin is then DAS's ``kernel_size*nb_conv`` samples
        (at most 3/8 of the chunk, so that its middle quarter still trains; the seed's fly network,
        nb_hist 256, keeps DAS's 96: held-out pulse F1 0.91 against 0.80 with 64),
        :attr:`margin_capped` is True, and ``das predict`` runs
        the network on its training chunks (:attr:`predicts_in_chunks`), as DAS does.  Measured
        on the finch choosing day (bench/BIRDS.md, DAS's bird command line, 10 epochs): the old
        cap (384 of 1024 samples, 3.3x DAS's steps per epoch) predicted in long windows scored
        onset/offset F1 0.71/0.90, the same model in its training chunks 0.99/0.99; DAS's margin
        at DAS's steps per epoch in training chunks 0.98/0.98 (DAS 0.99/0.98).
        """
        if not self.ignore_boundaries:
            return 0
        half = int(math.ceil(max(self.receptive_extent) / self.hop) * self.hop)
        cap = max(self.nb_hist // 4, min(self.kernel_size * self.nb_conv * self.hop,
                                         3 * self.nb_hist // 8)) // self.hop * self.hop
        if half <= cap:
            return half
        return int(min(self.das_data_padding, 3 * self.nb_hist // 8))

    @property
    def das_data_padding(self) -> int:
        """DAS's margin ``kernel_size * nb_conv`` samples (0 without ``ignore_boundaries``)."""
        return int(self.kernel_size * self.nb_conv) if self.ignore_boundaries else 0

    @property
    def das_stride(self) -> int:
        """DAS's chunk stride for this command line: it sets DAS's (and our) steps per epoch."""
        return max(int(self.nb_hist - 2 * self.das_data_padding), 1)

    @property
    def margin_capped(self) -> bool:
        """True when chunks are too short for a margin covering the receptive field."""
        return self.ignore_boundaries and self.data_padding < max(self.receptive_extent)

    @property
    def predicts_in_chunks(self) -> bool:
        """True when the loss saw outputs whose receptive field reached past the chunk.

        Such a network learned on zero padding where real signal would be: on long windows its
        kept outputs meet inputs unlike any seen in training.  ``--training-windows`` runs it on
        its training chunks (``nb_hist`` samples keeping the middle ``stride``) instead.
        """
        if self.ignore_boundaries:
            return self.margin_capped
        return self.nb_hist < 2 * max(self.receptive_extent) + 1

    @property
    def stride(self) -> int:
        """Step between consecutive chunks so that the kept centres tile the signal."""
        return int(self.nb_hist - 2 * self.data_padding)

    @property
    def output_stride(self) -> int:
        return 1 if self.upsample else self.hop

    def derived(self) -> dict[str, Any]:
        """Derived values stored in ``_params.yaml`` under DAS's names."""
        return {
            "data_padding": self.data_padding,
            "stride": self.stride,
            "receptive_field": self.receptive_field,
            "output_stride": self.output_stride,
            "return_sequences": True,
            "with_y_hist": True,
            "y_offset": 0,
            "sample_weight_mode": "temporal",
        }
