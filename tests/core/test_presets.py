"""``--preset``: documented recipes, explicit options win (CLI and core)."""

from __future__ import annotations

import pytest

from napari_das.cli import build_parser, train_configs
from napari_das.core.errors import DasError
from napari_das.core.presets import PRESETS, apply_preset, preset_values


def _configs(*argv):
    return train_configs(build_parser().parse_args(["train", "--data-dir", "d.npy", *argv]))


def test_bird_preset_sets_the_documented_network_and_schedule():
    network, training = _configs("--preset", "bird")
    assert (network.nb_hist, network.nb_pre_conv, network.nb_conv, network.kernel_size,
            network.nb_filters) == (1024, 4, 4, 32, 64)
    assert training.lr_schedule == "cosine"


def test_explicit_flags_override_the_preset():
    network, training = _configs("--preset", "bird", "--nb-filters", "16", "--lr-schedule",
                                 "constant", "--nb-pre-conv", "0")
    assert network.nb_filters == 16 and network.nb_pre_conv == 0
    assert training.lr_schedule == "constant"
    assert network.nb_conv == 4  # the rest of the preset stays


def test_no_preset_keeps_the_defaults():
    network, training = _configs()
    assert (network.nb_filters, network.nb_conv, network.nb_pre_conv) == (16, 3, 0)
    assert training.lr_schedule == "constant"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_network(name):
    network, _ = _configs("--preset", name)
    assert network.nb_hist == PRESETS[name]["nb_hist"]


def test_unknown_preset():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--data-dir", "d.npy", "--preset", "whale"])
    with pytest.raises(DasError, match="unknown preset 'whale'"):
        preset_values("whale")
    assert apply_preset("none", {"nb_hist": 8}) == {"nb_hist": 8}
