"""One validated configuration object per pipeline step.

:class:`DatasetConfig`, :class:`NetworkConfig`, :class:`TrainingConfig` and
:class:`PredictionConfig` are the single source of truth for the command-line flags
(``napari_das.cli`` builds its parsers from the field metadata), the napari widgets (which build
their forms from the same metadata) and the ``_params.yaml`` written next to every result.
Field names follow DAS's parameter names so that DAS ``_params.yaml`` files read back.

Every field carries metadata:

``help``
    One line for ``--help`` and widget tooltips.
``label``
    Widget label (defaults to the field name).
``group``
    Widget group (the seed's Train dialog groups: "Data set", "Network parameters",
    "Training parameters").
``choices``, ``min``, ``max``
    Validation bounds (also used by the widgets).
``positional``
    The CLI takes this field as a positional argument.
``aliases``
    Extra CLI flags (deprecated DAS names).
``cli``
    False hides the field from the command line (derived values).

Examples
--------
>>> cfg = NetworkConfig(nb_filters=32, kernel_size=32, nb_hist=8192).validated()
>>> cfg.receptive_field, cfg.data_padding, cfg.stride
(2884, 1443, 5306)
>>> NetworkConfig(nb_hist=256, kernel_size=32).validated().data_padding  # capped: 32 * 3 stacks
96
>>> NetworkConfig(nb_pre_conv=4, nb_hist=1000).validated()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
napari_das.core.errors.DasError: --nb-hist 1000 is not a multiple of the downsample factor 16 ...
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from .errors import DasError

C = TypeVar("C", bound="_Config")


def option(default: Any = dataclasses.MISSING, help: str = "", **meta: Any) -> Any:
    """A dataclass field with CLI/widget metadata (lists get a default factory)."""
    meta["help"] = help
    if isinstance(default, list):
        value = list(default)
        return field(default_factory=lambda: list(value), metadata=meta)
    return field(default=default, metadata=meta)


class _Config:
    """Shared behaviour: dict round trip, validation, replacement."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-typed dict (safe for YAML/JSON)."""
        out = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any], strict: bool = False) -> C:
        """Build from a dict (e.g. a ``_params.yaml``); unknown keys are ignored unless ``strict``."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(values) - names
        if strict and unknown:
            raise DasError(f"unknown option(s) {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in values.items() if k in names})

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def validated(self: C) -> C:
        """Return a checked copy (with defaults resolved); raise DasError on bad values."""
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            meta = f.metadata
            if v is None:
                continue
            if "choices" in meta and v not in meta["choices"]:
                raise DasError(
                    f"--{_flag(f.name)} must be one of {', '.join(map(str, meta['choices']))}, not {v!r}"
                )
            if "min" in meta and isinstance(v, int | float) and v < meta["min"]:
                raise DasError(f"--{_flag(f.name)} must be at least {meta['min']}, not {v}")
            if "max" in meta and isinstance(v, int | float) and v > meta["max"]:
                raise DasError(f"--{_flag(f.name)} must be at most {meta['max']}, not {v}")
        self._check()  # type: ignore[attr-defined]
        return self

    def _check(self) -> None:  # overridden
        pass


def _flag(name: str) -> str:
    return name.replace("_", "-")


# ------------------------------------------------------------------------------------ dataset
SPLIT_MODES = ("samples", "files")


@dataclass
class DatasetConfig(_Config):
    """Options of ``das make-dataset`` (the seed's "Make dataset for training" dialog)."""

    data_folder: str = option("", "folder with exported audio and <stem>_annotations.csv files",
                              positional=True, label="Data folder", widget="dir")
    store_folder: str | None = option(None, "output dataset folder, must end in .npy "
                                      "(default: <data_folder>.npy)", label="Store folder",
                                      widget="save_dir")
    make_single_class_datasets: bool = option(
        False, "also write individual training targets y_<name>.npy for every song type",
        label="Individual targets")
    event_std_seconds: float = option(0.0016, "std of the Gaussian that widens events, seconds "
                                      "(0: one-sample events)", min=0.0, label="Event width (s)")
    gap_seconds: float = option(0.0, "silence enforced between adjacent segments, seconds",
                                min=0.0, label="Gap between segments (s)")
    train_split: str = option("samples", "split train by 'samples' or by 'files'",
                              choices=SPLIT_MODES, label="Train split by")
    train_fraction: float = option(0.6, "fraction of the data for training", min=0.0, max=1.0,
                                   label="Train fraction")
    val_split: str = option("samples", "split validation by 'samples' or by 'files'",
                            choices=SPLIT_MODES, label="Validation split by")
    val_fraction: float = option(0.2, "fraction of the data for validation", min=0.0, max=1.0,
                                 label="Validation fraction")
    test_split: str = option("samples", "split test by 'samples' or by 'files'",
                             choices=SPLIT_MODES, label="Test split by")
    test_fraction: float = option(0.2, "fraction of the data for testing", min=0.0, max=1.0,
                                  label="Test fraction")
    seed: int | None = option(None, "seed for the splits (default: drawn at random and recorded "
                              "in the dataset)", min=0, label="Seed")
    overwrite: bool = option(False, "replace an existing store folder", label="Overwrite")

    def _check(self) -> None:
        if not self.data_folder:
            raise DasError("no data folder given: name the folder with your exported recordings")
        if self.store_folder is not None and not str(self.store_folder).rstrip("/\\").endswith(".npy"):
            raise DasError("the store folder must end in .npy (DAS's npy-dir layout), "
                           "for example data.npy", self.store_folder)
        fractions = {s: getattr(self, f"{s}_fraction") for s in ("train", "val", "test")}
        if fractions["train"] <= 0:
            raise DasError("--train-fraction must be above 0: a dataset needs training data")
        file_sum = sum(v for s, v in fractions.items() if getattr(self, f"{s}_split") == "files")
        if file_sum > 1 + 1e-9:
            raise DasError(f"the fractions split by files add up to {file_sum:g}, more than 1: "
                           "lower --train/--val/--test-fraction")
        total = sum(fractions.values())
        by_samples = any(getattr(self, f"{s}_split") == "samples" and v > 0
                         for s, v in fractions.items())
        if not by_samples and abs(total - 1) > 1e-6:
            raise DasError(f"the split fractions add up to {total:g}: they must add up to 1")
        if by_samples and abs(total - 1) > 1e-6:
            raise DasError(f"the split fractions add up to {total:g}, not 1: "
                           "adjust --train/--val/--test-fraction")

    @property
    def resolved_store_folder(self) -> str:
        """The store folder, defaulting to ``<data_folder>.npy``."""
        if self.store_folder:
            return os.fspath(self.store_folder).rstrip("/\\")
        return os.fspath(self.data_folder).rstrip("/\\") + ".npy"


# ------------------------------------------------------------------------------------ network
MODEL_NAMES = ("tcn", "tcn_stft")


@dataclass
class NetworkConfig(_Config):
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
        ``kernel_size*nb_conv`` (48 samples for a 1396-sample receptive field).  Chunks shorter
        than the receptive field cannot hold that margin: it is then capped at a quarter of the
        chunk, or at DAS's ``kernel_size*nb_conv`` steps if that is more (at most 3/8 of the chunk,
        so that its middle quarter still trains), and :attr:`margin_capped` is True.  The cap
        trades loss samples per step for context per trained output.  Measured with the seed's
        network (nb_hist 256) on the same data and budget: held-out pulse F1 0.80 with a
        64-sample margin, 0.91 with 96 (DAS: 0.94 with its 96); with the finch STFT network
        (nb_hist 2048, hop 16) 3/8 instead of 1/4 dropped syllable offset F1 from 0.96 to 0.84.
        Such a
        network can be predicted in its training geometry (:attr:`predicts_in_chunks`,
        ``das predict --training-windows``).
        """
        if not self.ignore_boundaries:
            return 0
        half = int(math.ceil(max(self.receptive_extent) / self.hop) * self.hop)
        das = self.kernel_size * self.nb_conv * self.hop
        cap = max(self.nb_hist // 4, min(das, 3 * self.nb_hist // 8)) // self.hop * self.hop
        return int(min(half, cap))

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


# ------------------------------------------------------------------------------------ training
STRATEGIES = ("default", "mirrored", "multi-worker")
LR_SCHEDULES = ("constant", "cosine")
#: The cosine schedule ends at this fraction of the initial learning rate.
COSINE_FINAL_FRACTION = 0.02


@dataclass
class TrainingConfig(_Config):
    """Options of ``das train`` besides the architecture (seed dialog groups "Data set" and
    "Training parameters")."""

    data_dir: str = option("", "dataset folder (ends in .npy)", group="Data set",
                           label="Data directory", widget="dir", required=True)
    save_dir: str = option("./", "folder for the result files (created)", group="Data set",
                           label="Save directory", widget="save_dir")
    save_prefix: str = option("", "prefix of the result files (an underscore is appended)",
                              group="Data set", label="Prefix")
    save_name: str | None = option(None, "name after the prefix (default: YYYYMMDD_hhmmss)",
                                   group="Data set", label="Name")
    x_suffix: str = option("", "use x_<suffix>.npy as input", group="Data set", label="Input suffix",
                           cli_hidden=False)
    y_suffix: str = option("", "song type: train on y_<suffix>.npy (individual target) instead of "
                           "all types", group="Data set", label="Song type")
    fraction_data: float | None = option(None, "use only this fraction (<= 1) or these seconds "
                                         "(> 1) of the training and validation data", min=0.0,
                                         group="Data set", label="Data fraction")
    first_sample_train: int | None = option(None, "train only on training samples from this one "
                                            "(overrides --fraction-data)", min=0,
                                            group="Data set")
    last_sample_train: int | None = option(None, "train only on training samples before this one "
                                           "(overrides --fraction-data)", min=1, group="Data set")
    first_sample_val: int | None = option(None, "validate only on samples from this one "
                                          "(overrides --fraction-data)", min=0, group="Data set")
    last_sample_val: int | None = option(None, "validate only on samples before this one "
                                         "(overrides --fraction-data)", min=1, group="Data set")
    seed: int | None = option(None, "seed for weights, batches and data subsets (default: drawn "
                              "at random and recorded)", min=0, group="Data set", label="Seed")
    balance: bool = option(False, "weight classes by inverse frequency", group="Data set",
                           label="Balance classes")
    version_data: bool = option(True, "store a hash of the dataset in the params",
                                group="Data set", label="Version training data")
    batch_size: int = option(32, "chunks per batch", min=1, group="Training parameters",
                             label="Batch size")
    learning_rate: float | None = option(None, "Adam learning rate (default 0.0005)", min=0.0,
                                         group="Training parameters", label="Learning rate")
    nb_epoch: int = option(400, "maximum number of epochs", min=1, group="Training parameters",
                           label="Number of epochs")
    steps_per_epoch: int | None = option(None, "batches per epoch (default: one pass over the "
                                         "training data, at most 1000)", min=1,
                                         group="Training parameters", label="Steps per epoch")
    validation_steps: int | None = option(None, "validation batches per epoch (default: the "
                                          "whole validation split)", min=1,
                                          group="Training parameters", label="Validation steps")
    lr_schedule: str = option("constant", "learning-rate schedule: constant (DAS), or cosine "
                              "(decays from --learning-rate to a fiftieth of it over --nb-epoch "
                              "epochs: short runs end converged)", choices=LR_SCHEDULES,
                              group="Training parameters", label="LR schedule")
    reduce_lr: bool = option(False, "reduce the learning rate when validation loss plateaus",
                             group="Training parameters", label="Reduce LR")
    reduce_lr_patience: int = option(5, "epochs without improvement before reducing the LR",
                                     min=1, group="Training parameters",
                                     label="Reduce LR patience")
    early_stop_patience: int = option(20, "stop after this many epochs without validation-loss "
                                      "improvement", min=1, group="Training parameters",
                                      label="Early-stop patience")
    tensorboard: bool = option(False, "write TensorBoard logs to <save_dir>/<save name>_logs",
                               group="Training parameters", label="Tensorboard")
    verbose: int = option(2, "terminal output: 0 silent, 1 progress bar, 2 one line per epoch",
                          choices=(0, 1, 2), group="Training parameters", label="Verbosity")
    strategy: str = option("default", "distribution: default (one device), mirrored (all GPUs "
                           "or logical CPUs of this machine), multi-worker (TF_CONFIG)",
                           choices=STRATEGIES, group="Training parameters", label="Strategy")
    resume: str | None = option(None, "continue the interrupted run SAVE_NAME (path stem of its "
                                "files) from its last epoch", group="Training parameters",
                                label="Resume")
    post_opt: bool = option(False, "optimise segment fill-gap/min-length on the validation split",
                            group="Training parameters", label="Optimize postprocessing")
    post_opt_fill_gaps_min: float = option(0.0005, "post-opt: smallest fill gap (s)", min=0.0,
                                           group="Training parameters")
    post_opt_fill_gaps_max: float = option(1.0, "post-opt: largest fill gap (s)", min=0.0,
                                           group="Training parameters")
    post_opt_fill_gaps_steps: int = option(20, "post-opt: number of fill-gap values", min=1,
                                           group="Training parameters")
    post_opt_min_len_min: float = option(0.0005, "post-opt: smallest min length (s)", min=0.0,
                                         group="Training parameters")
    post_opt_min_len_max: float = option(1.0, "post-opt: largest min length (s)", min=0.0,
                                         group="Training parameters")
    post_opt_min_len_steps: int = option(20, "post-opt: number of min-length values", min=1,
                                         group="Training parameters")

    def _check(self) -> None:
        if not self.data_dir:
            raise DasError("no dataset given: pass --data-dir DATASET.npy")
        for name in ("train", "val"):
            first, last = getattr(self, f"first_sample_{name}"), getattr(self, f"last_sample_{name}")
            if first is not None and last is not None and last <= first:
                raise DasError(f"--last-sample-{name} {last} must be above --first-sample-{name} "
                               f"{first}")
        if self.reduce_lr and self.lr_schedule != "constant":
            raise DasError(f"--reduce-lr needs the constant learning rate, not --lr-schedule "
                           f"{self.lr_schedule}: use one of them")
        if not str(self.data_dir).rstrip("/\\").endswith(".npy"):
            raise DasError("the dataset folder must end in .npy (make one with das make-dataset)",
                           self.data_dir)

    @property
    def effective_learning_rate(self) -> float:
        return 0.0005 if self.learning_rate is None else float(self.learning_rate)

    @property
    def prefix(self) -> str:
        """The save prefix with its trailing underscore (DAS convention), or ''."""
        p = self.save_prefix or ""
        return p if not p or p.endswith("_") else p + "_"


# ------------------------------------------------------------------------------------ prediction
@dataclass
class PredictionConfig(_Config):
    """Options of ``das predict`` and the Predict widget (post-processing included)."""

    batch_size: int | None = option(None, "chunks per forward pass (default: from the params)",
                                    min=1, label="Batch size")
    event_thres: float = option(0.5, "event detection threshold on the probability", min=0.0,
                                max=1.0, label="Event threshold")
    event_dist: float = option(0.01, "minimum distance between events, seconds (non-maximum "
                               "suppression)", min=0.0, label="Min event interval (s)")
    event_dist_min: float = option(0.0, "drop events closer than this to a neighbour, seconds",
                                   min=0.0, label="Delete events closer than (s)")
    event_dist_max: float | None = option(None, "drop isolated events farther than this from "
                                          "both neighbours, seconds (default: keep all)", min=0.0,
                                          label="Delete events farther than (s)")
    segment_thres: float = option(0.5, "segment detection threshold on the probability", min=0.0,
                                  max=1.0, label="Segment threshold")
    segment_use_optimized: bool = option(True, "use fill-gap/min-length found by --post-opt "
                                         "during training when not given here",
                                         label="Use optimized post-processing")
    segment_minlen: float | None = option(None, "remove segments shorter than this, seconds",
                                          min=0.0, label="Delete segments shorter than (s)")
    segment_fillgap: float | None = option(None, "fill gaps between segments shorter than this, "
                                           "seconds", min=0.0, label="Fill gaps shorter than (s)")
    bandpass_low_freq: float | None = option(None, "band-pass lower cutoff in Hz before inference",
                                             min=0.0, label="Band-pass low (Hz)")
    bandpass_up_freq: float | None = option(None, "band-pass upper cutoff in Hz before inference",
                                            min=0.0, label="Band-pass high (Hz)")
    resample: bool = option(True, "resample audio to the model's sample rate",
                            label="Resample")
    training_windows: bool = option(False, "run a network trained on chunks shorter than its "
                                    "receptive field on its training chunks (DAS's geometry): "
                                    "fewer false events, up to 4x slower, segments can "
                                    "break at chunk borders", label="Predict in training chunks")
    match_noise: bool = option(False, "scale the recording so that its background noise level "
                               "matches the training audio's (napari-das models): for recordings "
                               "made with another gain; wrong where only the background changed",
                               label="Match noise level to training")
    block_seconds: float | None = option(None, "seconds of audio per streamed block (default: "
                                         "chosen from the model)", min=0.0, cli_hidden=True)

    def _check(self) -> None:
        lo, hi = self.bandpass_low_freq, self.bandpass_up_freq
        if lo is not None and hi is not None and lo >= hi:
            raise DasError(f"--bandpass-low-freq {lo} must be below --bandpass-up-freq {hi}")


CONFIG_CLASSES = (DatasetConfig, NetworkConfig, TrainingConfig, PredictionConfig)
