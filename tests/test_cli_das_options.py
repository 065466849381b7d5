"""Every option of DAS 0.32.13's ``das train`` / ``das predict`` parses (list from its --help)."""

from __future__ import annotations

import pytest

from napari_das.cli import build_parser, main
from napari_das.cli_das import check_das_options

#: ``das train --help`` of DAS 0.32.13 (each option with a value DAS's docs or GUI use)
DAS_TRAIN = [
    "--data-dir d.npy", "-x ''", "--x-suffix ''", "-y pulse", "--y-suffix pulse",
    "--save-dir res", "--save-prefix p", "--save-name n", "-m tcn", "--model-name tcn_stft",
    "--nb-filters 16", "--nb-kernels 16", "-k 16", "--kernel-size 16", "--nb-conv 3",
    "--use-separable True False False", "--nb-hist 1024", "-i", "--ignore-boundaries",
    "--no-ignore-boundaries", "--batch-norm", "--no-batch-norm", "--nb-pre-conv 2",
    "--pre-nb-conv 2", "--pre-nb-dft 64", "--pre-kernel-size 3", "--pre-nb-filters 16",
    "--pre-nb-kernels 16", "--upsample", "--dilations 1 2 4 8 16", "--nb-lstm-units 0",
    "--verbose 2", "--batch-size 32", "--nb-epoch 400", "--learning-rate 0.0001",
    "--reduce-lr", "--no-reduce-lr", "--reduce-lr-patience 5", "--fraction-data 0.5",
    "--first-sample-train 0", "--last-sample-train 100000", "--first-sample-val 0",
    "--last-sample-val 100000", "--seed 1", "--no-batch-level-subsampling", "-a aug.yaml",
    "--augmentations aug.yaml", "--tensorboard", "--no-tensorboard", "--log-messages",
    "--no-log-messages", "--nb-stacks 2", "--with-y-hist", "--balance", "--no-balance",
    "--version-data", "--no-version-data", "--post-opt", "--no-post-opt",
    "--post-opt-nb-workers -1", "--post-opt-fill-gaps-min 0.0005",
    "--post-opt-fill-gaps-max 1", "--post-opt-fill-gaps-steps 20",
    "--post-opt-min-len-min 0.0005", "--post-opt-min-len-max 1", "--post-opt-min-len-steps 20",
    "--no-resnet-compute", "--no-resnet-train", "--tmse-weight 0.0",
]
DAS_PREDICT = [
    "--save-filename out.csv", "--save-format csv", "-v 1", "--verbose 0", "--batch-size 32",
    "--event-thres 0.5", "--event-dist 0.01", "--event-dist-min 0", "--event-dist-max inf",
    "--segment-thres 0.5", "--segment-use-optimized", "--no-segment-use-optimized",
    "--segment-minlen 0.02", "--segment-fillgap 0.02", "--bandpass-low-freq 50",
    "--bandpass-up-freq 5000", "-r", "--resample", "--no-resample",
]


def _words(option: str) -> list[str]:
    return [w.strip("'") for w in option.split()]


@pytest.mark.parametrize("option", DAS_TRAIN)
def test_every_das_train_option_parses(option):
    args = build_parser().parse_args(["train", "--data-dir", "d.npy", *_words(option)])
    check_das_options(args)  # DAS's defaults and ignored options pass


@pytest.mark.parametrize("option", DAS_PREDICT)
def test_every_das_predict_option_parses(option):
    args = build_parser().parse_args(["predict", "a.wav", "model", *_words(option)])
    check_das_options(args)


def test_short_aliases_map_to_our_options():
    args = build_parser().parse_args("train --data-dir d.npy -x v -y pulse -m tcn_stft -k 8 "
                                     "-i False -a aug.yaml".split())
    check_das_options(args)
    assert (args.x_suffix, args.y_suffix, args.model_name, args.kernel_size,
            args.ignore_boundaries, args.augmentations) == \
        ("v", "pulse", "tcn_stft", 8, False, "aug.yaml")
    args = build_parser().parse_args("predict a.wav m -r False -v 0".split())
    check_das_options(args)
    assert args.resample is False and not hasattr(args, "das_compat_verbose")


@pytest.mark.parametrize(("option", "flag"), [
    ("--tmse-weight 0.5", "--tmse-weight"), ("--no-with-y-hist", "--with-y-hist"),
    ("--batch-level-subsampling", "--batch-level-subsampling"),
    ("--resnet-compute", "--resnet-compute"), ("--wandb-project proj", "--wandb-project"),
    ("--no-upsample", "--upsample"),
])
def test_unsupported_values_stop_with_one_line(option, flag, capsys):
    assert main(["train", "--data-dir", "d.npy", *option.split()]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"option {flag} is not supported by napari-das: " in err
