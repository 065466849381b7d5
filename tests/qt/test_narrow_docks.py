"""The widgets in a narrow dock, and the loss plot's epoch axis."""

from __future__ import annotations

import pytest
from qtpy.QtWidgets import QScrollArea

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("name", ["Train", "Predict"])
def test_forms_fit_a_narrow_dock_without_a_horizontal_scroll_bar(make_napari_viewer, name):
    """In the README's screenshots (dock about 385 px wide, 340 px inside its scroll area) the
    Train form's fields were cut off behind a horizontal scroll bar: its rows needed 429 px.
    Long rows now put the field under its label."""
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", name)
    body = widget.findChildren(QScrollArea)[0].widget()
    assert body.minimumSizeHint().width() <= 340


def test_loss_plot_ticks_whole_epochs(qtbot):
    from napari_das._qt.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    for epoch, loss in ((1, 0.9), (2, 0.5), (3, 0.4)):
        plot.add_epoch({"epoch": epoch, "loss": loss, "val_loss": loss + 0.1})
    axis = plot.plot.getAxis("bottom")
    ticks = [value for _, values in axis.tickValues(1.0, 3.0, 300) for value in values]
    assert ticks and all(float(v).is_integer() for v in ticks), ticks
    assert {1.0, 2.0, 3.0} <= set(ticks)
    long_run = [v for _, values in axis.tickValues(1.0, 400.0, 300) for v in values]
    assert len(long_run) < 60  # still a readable number of ticks for a long run
