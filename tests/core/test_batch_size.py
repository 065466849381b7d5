"""das predict --batch-size: training chunks per model call, memory bounded by design."""

from __future__ import annotations

import pytest

from napari_das.core.config import NetworkConfig, PredictionConfig
from napari_das.core.inference import windows as W

SEED = NetworkConfig(nb_hist=256, nb_filters=32, kernel_size=32, nb_conv=3)
BIRD = NetworkConfig(nb_hist=2048, nb_pre_conv=4, pre_nb_dft=64, nb_filters=32,
                     kernel_size=16, nb_conv=2)
HUGE = NetworkConfig(nb_hist=8192, nb_pre_conv=4, pre_nb_dft=64, nb_filters=32, kernel_size=32,
                     nb_conv=4)


def geometry(network, batch_size=None, **kwargs):
    samples = W.samples_per_call(network.validated(), batch_size)
    plan = W.window_plan(network.validated(), samples=samples, **kwargs)
    return plan, W.windows_per_call(plan, samples)


@pytest.mark.parametrize("network", [SEED, BIRD, HUGE])
@pytest.mark.parametrize("batch", [1, 8, 32, 256])
def test_a_batch_is_that_many_training_chunks_of_input(network, batch):
    plan, windows = geometry(network, batch)
    asked = batch * network.nb_hist
    field = plan.margin_past + plan.margin_future
    # whole windows filling the asked samples, or one window of at most two fields
    assert windows * plan.window <= max(asked, 2 * field + plan.hop)
    if windows > 1:
        assert (windows + 1) * plan.window > asked  # as many as fit
    assert plan.core > 0


def test_das_style_batch_with_a_bird_network_does_not_explode():
    network = HUGE.validated()
    plan, windows = geometry(network, 32)
    assert network.receptive_field > 30_000  # a wide STFT network
    assert windows * plan.window <= 32 * 8192  # 262144 samples, not 32 windows of 16 fields
    default_plan, default_windows = geometry(network)
    assert default_windows * default_plan.window <= W.TARGET_SAMPLES_PER_CALL


def test_default_geometry_of_usual_networks_is_unchanged():
    for network in (SEED, BIRD):
        network = network.validated()
        plan, windows = geometry(network, training_windows=False)  # long windows
        field = plan.margin_past + plan.margin_future
        assert plan.window == W._round_up(max(16 * field, 8 * network.nb_hist, W.MIN_WINDOW),
                                          plan.hop)
        assert windows == W.TARGET_SAMPLES_PER_CALL // plan.window


def test_training_windows_batch_counts_chunks_exactly():
    short = NetworkConfig(nb_hist=256, nb_filters=8, kernel_size=16, nb_conv=2).validated()
    assert short.predicts_in_chunks
    plan, windows = geometry(short, 12, training_windows=True)
    assert plan.window == 256 and windows == 12


def test_help_says_what_a_batch_counts():
    help_text = PredictionConfig.__dataclass_fields__["batch_size"].metadata["help"]
    assert "nb_hist" in help_text and "524288" in help_text
