"""``TrainingConfig``: the options of ``das train`` besides the architecture."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DasError
from .base import ConfigBase, option

STRATEGIES = ("default", "mirrored", "multi-worker")
LR_SCHEDULES = ("constant", "cosine")
#: The cosine schedule ends at this fraction of the initial learning rate.
COSINE_FINAL_FRACTION = 0.02


@dataclass
class TrainingConfig(ConfigBase):
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
    ema_momentum: float = option(0.0, "average the weights over training steps (exponential "
                                 "moving average with this momentum, e.g. 0.99; 0 = off): "
                                 "validation, the kept model and its checkpoints use the "
                                 "averaged weights", min=0.0, max=0.9999,
                                 group="Training parameters", label="Weight averaging (EMA)")
    precision: str = option("float32", "arithmetic of the dilated convolutions: float32, "
                            "bfloat16 (weights and all other layers stay float32; only shapes "
                            "that pass a numeric check on this machine), or auto (bfloat16 on "
                            "CPUs with AMX and GPUs of compute capability >= 8). On a 2-core "
                            "Sapphire Rapids the bird network's step took 43 ms in bfloat16 "
                            "and 45 ms in float32",
                            choices=("float32", "bfloat16", "auto"),
                            group="Training parameters", label="Precision")
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
    init_from: str | None = option(None, "fine-tune: start from the weights of model SAVE_NAME "
                                   "(ours or trained by DAS); its architecture replaces the "
                                   "network options", group="Training parameters",
                                   label="Initialise from model")
    augmentations: str | None = option(None, "YAML file of DAS augmentations applied to the "
                                       "training audio, e.g. 'Gain: {gain: {Uniform: {lower: 0.5, "
                                       "upper: 2}}}' (DAS's format; off by default)",
                                       aliases=(), group="Training parameters",
                                       label="Augmentations (YAML)")
    post_opt: bool = option(True, "after training, choose fill gap and min length (segments) and "
                            "the min event interval on the validation split by onset/offset F1, "
                            "syllable error rate and event F1; das predict uses them",
                            group="Training parameters", label="Optimize postprocessing")
    post_opt_fill_gaps_min: float = option(0.0005, "post-opt: smallest fill gap (s)", min=0.0,
                                           group="Training parameters")
    post_opt_fill_gaps_max: float = option(1.0, "post-opt: largest fill gap (s)", min=0.0,
                                           group="Training parameters")
    post_opt_fill_gaps_steps: int = option(12, "post-opt: number of fill-gap values", min=1,
                                           group="Training parameters")
    post_opt_min_len_min: float = option(0.0005, "post-opt: smallest min length (s)", min=0.0,
                                         group="Training parameters")
    post_opt_min_len_max: float = option(1.0, "post-opt: largest min length (s)", min=0.0,
                                         group="Training parameters")
    post_opt_min_len_steps: int = option(12, "post-opt: number of min-length values", min=1,
                                         group="Training parameters")
    test_arrays_mb: float = option(512.0, "_results.h5 keeps y_test and y_pred (float32 [T, K]) "
                                   "for the first test samples, up to this many MB per array "
                                   "(labels_test/labels_pred always cover the whole split)",
                                   min=0.0, group="Training parameters")
    full_test_arrays: bool = option(False, "_results.h5 keeps y_test and y_pred of the whole "
                                    "test split (an hour at 32 kHz with 40 classes: 18 GB each)",
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
        if self.init_from and self.resume:
            raise DasError("--init-from starts a new run and --resume continues one: use one")
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
