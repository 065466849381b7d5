"""The Predict widget's proofreading panel: approve or reject proposals one by one or in bulk,
and walk through them (in time, or lowest confidence first).

| key | action |
|---|---|
| G | approve the proposals of the active song type in view (DAS's G) |
| H | approve all proposals in view (DAS's H) |
| Alt+A / Alt+X | approve / reject the selected proposals |
| Alt+Right / Alt+Left | next / previous proposal (selected and centred in the view) |

The active song type is the type of the selected proposal, else the song type new items of the
active layer get (the Annotate widget's choice).  Every action is one undo step (Ctrl+Z).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from napari.utils.notifications import show_info
from qtpy.QtWidgets import QCheckBox, QGridLayout, QGroupBox, QLabel, QPushButton

from .._napari import proposals as prop
from .layer_tools import annotation_layers_of


class ProofreadBox(QGroupBox):
    """Buttons and keys over the proposal layers of the recording ``recording()`` names."""

    def __init__(self, viewer: Any, recording: Callable[[], str | None], parent=None):
        super().__init__("Proofread proposals", parent)
        self.viewer = viewer
        self.recording = recording
        self.current: tuple[Any, float] | None = None  # (layer, start) of the last visited
        self.approve_selected_button = QPushButton("Approve selected")
        self.approve_type_button = QPushButton("Approve type in view (G)")
        self.approve_view_button = QPushButton("Approve all in view (H)")
        self.reject_button = QPushButton("Reject selected")
        self.previous_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.lowest_first = QCheckBox("lowest confidence first")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        grid = QGridLayout(self)
        grid.addWidget(self.approve_selected_button, 0, 0)
        grid.addWidget(self.reject_button, 0, 1)
        grid.addWidget(self.approve_type_button, 1, 0)
        grid.addWidget(self.approve_view_button, 1, 1)
        grid.addWidget(self.previous_button, 2, 0)
        grid.addWidget(self.next_button, 2, 1)
        grid.addWidget(self.lowest_first, 3, 0, 1, 2)
        grid.addWidget(self.summary, 4, 0, 1, 2)
        self.approve_selected_button.clicked.connect(self.approve_selected)
        self.reject_button.clicked.connect(self.reject_selected)
        self.approve_type_button.clicked.connect(self.approve_type_in_view)
        self.approve_view_button.clicked.connect(self.approve_all_in_view)
        self.previous_button.clicked.connect(lambda: self.go(-1))
        self.next_button.clicked.connect(lambda: self.go(1))
        if viewer is not None:
            self.bind_keys(viewer)

    def bind_keys(self, owner: Any) -> None:
        for key, action in (("G", self.approve_type_in_view), ("H", self.approve_all_in_view),
                            ("Alt-A", self.approve_selected), ("Alt-X", self.reject_selected),
                            ("Alt-Right", lambda: self.go(1)), ("Alt-Left", lambda: self.go(-1))):
            owner.bind_key(key, lambda *_, a=action: a(), overwrite=True)

    # ------------------------------------------------------------------------------ queries
    def layers(self) -> list:
        """The proposal layers of the current recording."""
        if self.viewer is None:
            return []
        return annotation_layers_of(self.viewer, proposals=True, recording=self.recording())

    def view(self) -> tuple[float, float]:
        from .._napari.time_view import time_view

        return time_view(self.viewer).visible_seconds()

    def active_type(self) -> str | None:
        for layer in self.layers():
            selected = sorted(layer.selected_data)
            if selected:
                return str(layer.features["name"].iloc[selected[0]])
        active = self.viewer.layers.selection.active if self.viewer is not None else None
        if active is not None and "name" in getattr(active, "feature_defaults", {}):
            try:
                return str(active.feature_defaults["name"].iloc[0])
            except (IndexError, KeyError):
                return None
        return None

    def remaining(self) -> int:
        return sum(len(layer.data) for layer in self.layers())

    # ------------------------------------------------------------------------------ actions
    def _report(self, text: str) -> None:
        self.summary.setText(f"{text}; {self.remaining()} proposal(s) left")
        show_info(text)

    def _approve(self, picks: dict) -> tuple[int, int]:
        approved = replaced = 0
        for layer, indices in picks.items():
            a, r = prop.approve(self.viewer, layer, indices)
            approved, replaced = approved + a, replaced + r
        return approved, replaced

    def _approved(self, what: str, counts: tuple[int, int]) -> tuple[int, int]:
        approved, replaced = counts
        extra = f" ({replaced} annotation(s) replaced)" if replaced else ""
        self._report(f"approved {approved} {what}{extra}")
        return counts

    def approve_selected(self) -> tuple[int, int]:
        picks = {layer: sorted(layer.selected_data) for layer in self.layers()}
        return self._approved("selected", self._approve(picks))

    def approve_in_view(self, name: str | None = None) -> tuple[int, int]:
        t0, t1 = self.view()
        picks = {layer: prop.in_view(layer, t0, t1, name) for layer in self.layers()}
        return self._approved(f"{name or 'proposals'} in view", self._approve(picks))

    def approve_type_in_view(self) -> tuple[int, int]:
        name = self.active_type()
        if name is None:
            self._report("no active song type: select a proposal or pick a type")
            return 0, 0
        return self.approve_in_view(name)

    def approve_all_in_view(self) -> tuple[int, int]:
        return self.approve_in_view(None)

    def reject_selected(self) -> int:
        count = sum(prop.reject(self.viewer, layer, sorted(layer.selected_data))
                    for layer in self.layers())
        self._report(f"rejected {count}")
        return count

    def go(self, direction: int):
        """Select and centre the next (1) or previous (-1) proposal; returns it or None."""
        by_confidence = self.lowest_first.isChecked()
        items = prop.ordered(self.layers(), by_confidence)
        t0, t1 = self.view()
        item = prop.step(items, self.current, direction, by_confidence, time=(t0 + t1) / 2)
        if item is None:
            self.summary.setText(f"no {'next' if direction > 0 else 'previous'} proposal; "
                                 f"{self.remaining()} left")
            return None
        layer, index, start, confidence = item
        self.current = (layer, start)
        for other in self.layers():
            other.selected_data = set()
        self.viewer.layers.selection.active = layer
        layer.selected_data = {index}
        from .._napari.time_view import time_view

        width = t1 - t0
        time_view(self.viewer).show_seconds(start - width / 2, start + width / 2)
        name = layer.features["name"].iloc[index]
        self.summary.setText(f"{name} at {start:.3f} s, confidence {confidence:.2f}; "
                             f"{self.remaining()} proposal(s) left")
        return item
