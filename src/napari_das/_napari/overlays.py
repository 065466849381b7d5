"""Lines drawn over the current view in canvas pixels: the playback playhead, the envelope and
its threshold.

napari draws shape edges in data units, and :mod:`~napari_das._napari.time_view` stretches the
frequency axis by a factor that changes with every zoom, so a line of fixed data width would be
a hair when horizontal and a bar when vertical.  A :class:`ScreenOverlay` keeps its shapes in
canvas pixels instead: its layer is scaled by ``1 / zoom`` on both axes and translated to the
view's top-left corner, and its owner redraws it after camera changes.  The layer's metadata
``das.kind`` is ``"overlay"``: the time view, the edit history and the widgets' recording
logic leave it alone; it is created once and updated in place (never removed and re-added).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

OVERLAY_KIND = "overlay"


@dataclass(frozen=True)
class ViewBox:
    """The view on the canvas: world coordinates of its top-left corner and pixels per world
    unit (time: seconds; frequency: the time view's stretched kHz)."""

    top: float
    left: float
    zoom: float
    height_px: float
    width_px: float

    @classmethod
    def of(cls, viewer: Any) -> ViewBox:
        from .time_view import camera

        cam = camera(viewer)  # viewer.scene.camera (viewer.camera is deprecated in 0.9)
        zoom = max(float(cam.zoom), 1e-12)
        height, width = (float(s) for s in viewer.canvas.size)
        cy, cx = (float(c) for c in cam.center[-2:])
        return cls(cy - height / 2 / zoom, cx - width / 2 / zoom, zoom, height, width)

    def x_px(self, seconds: float | np.ndarray) -> float | np.ndarray:
        return (np.asarray(seconds, dtype=np.float64) - self.left) * self.zoom

    def seconds(self, x_px: float | np.ndarray) -> float | np.ndarray:
        return self.left + np.asarray(x_px, dtype=np.float64) / self.zoom

    @property
    def t0(self) -> float:
        return self.left

    @property
    def t1(self) -> float:
        return self.left + self.width_px / self.zoom


def find_layer(viewer: Any, name: str) -> Any:
    for layer in viewer.layers:
        meta = (getattr(layer, "metadata", None) or {}).get("das", {}) or {}
        if layer.name == name and meta.get("kind") == OVERLAY_KIND:
            return layer
    return None


class ScreenOverlay:
    """A shapes layer ``name`` whose lines are given in canvas pixels of the current view."""

    def __init__(self, viewer: Any, name: str, color: str = "white", width_px: float = 2.0):
        self.viewer = viewer
        self.name = name
        self.color = color
        self.width_px = float(width_px)
        self.box: ViewBox | None = None

    @property
    def layer(self) -> Any:
        return find_layer(self.viewer, self.name)

    def ensure_layer(self) -> Any:
        """The overlay's layer, added on first use (the active layer stays active)."""
        layer = self.layer
        if layer is not None:
            return layer
        active = self.viewer.layers.selection.active
        layer = self.viewer.add_shapes(  # units as every napari-das layer (no warning)
            name=self.name, ndim=2, edge_color=self.color, edge_width=self.width_px,
            face_color="transparent", metadata={"das": {"kind": OVERLAY_KIND}},
            units=("s", "s"))
        if active is not None and active in self.viewer.layers:
            self.viewer.layers.selection.active = active
        return layer

    def draw(self, lines: list[np.ndarray], colors: list[str] | None = None,
             box: ViewBox | None = None, widths: list[float] | None = None) -> Any:
        """Show ``lines`` (each ``[n, 2]`` vertices ``(y_px, x_px)`` from the view's top-left
        corner, drawn as paths) over the view ``box`` (default: the current one)."""
        box = box or ViewBox.of(self.viewer)
        self.box = box
        layer = self.ensure_layer()
        if len(layer.data):
            layer.selected_data = set(range(len(layer.data)))
            layer.remove_selected()
        layer.scale = (1 / box.zoom, 1 / box.zoom)
        layer.translate = (box.top, box.left)
        if lines:
            layer.add_paths([np.asarray(v, dtype=np.float64) for v in lines],
                            edge_width=widths or [self.width_px] * len(lines),
                            edge_color=colors or [self.color] * len(lines))
        layer.selected_data = set()
        if not layer.visible:
            layer.visible = True
        return layer

    def hide(self) -> None:
        layer = self.layer
        if layer is not None and layer.visible:
            layer.visible = False


def vertical_line(box: ViewBox, seconds: float) -> np.ndarray:
    """A line across the whole canvas height at ``seconds``."""
    x = float(box.x_px(seconds))
    return np.array([[0.0, x], [box.height_px, x]])
