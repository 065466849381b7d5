"""Undo and redo for annotation edits (napari has none for shapes and points layers).

:class:`EditHistory` keeps, for every napari-das annotation and proposal layer of a viewer, a
snapshot of its items (vertices, features, colours).  Each finished edit (an item added, removed,
moved or resized, a song type renamed, layers created or updated by a prediction) pushes the state before it
onto the undo stack; ``Ctrl+Z`` restores it and ``Ctrl+Shift+Z`` redoes.  At least
:data:`HISTORY_STEPS` steps are kept.  Restoring sets the layer's data and features in place (a
layer is never removed and re-added: see ../shared/PLATFORM.md).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Edits kept for undo (the oldest are dropped beyond this).
HISTORY_STEPS = 100

_HISTORIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def _tracked(layer: Any) -> bool:
    return type(layer).__name__ in ("Points", "Shapes") and (
        _das(layer).get("kind") == "annotations" or bool(_das(layer).get("proposals")))


def _finished(event: Any) -> bool:
    """Data events fire before and after an edit; only the finished one counts."""
    action = getattr(event, "action", None)
    value = str(getattr(action, "value", action) or "")
    return value in ("", "added", "removed", "changed")


@dataclass
class State:
    """Everything needed to put a layer's items back."""

    data: Any
    features: Any
    face_color: np.ndarray
    edge_color: np.ndarray

    @classmethod
    def of(cls, layer: Any) -> State:
        points = type(layer).__name__ == "Points"
        data = np.array(layer.data, copy=True) if points else [np.array(d) for d in layer.data]
        edge = layer.border_color if points else layer.edge_color
        return cls(data, layer.features.copy(), np.array(layer.face_color, copy=True),
                   np.array(edge, copy=True))

    @classmethod
    def empty(cls, layer: Any) -> State:
        """The layer without items (its state before a prediction created it)."""
        points = type(layer).__name__ == "Points"
        data = np.empty((0, layer.ndim)) if points else []
        return cls(data, layer.features.iloc[:0].copy(), np.empty((0, 4)), np.empty((0, 4)))

    def restore(self, layer: Any) -> None:
        if type(layer).__name__ == "Points":
            layer.data = self.data.reshape(-1, layer.ndim)
            layer.features = self.features.reset_index(drop=True)
            if len(self.data):
                layer.face_color = self.face_color
                layer.border_color = self.edge_color
        else:
            if len(layer.data):
                layer.selected_data = set(range(len(layer.data)))
                layer.remove_selected()
            if self.data:
                layer.add_rectangles(self.data) if all(
                    len(d) == 4 for d in self.data) else layer.add(self.data)
                layer.features = self.features.reset_index(drop=True)
                layer.face_color = self.face_color
                layer.edge_color = self.edge_color
        layer.selected_data = set()
        layer.refresh()


class EditHistory:
    """Undo/redo stacks over the annotation layers of one viewer."""

    def __init__(self, viewer: Any, steps: int = HISTORY_STEPS):
        self.steps = int(steps)
        # an entry is one user action: the states before it of the layers it changed
        self.undo_stack: list[list[tuple[weakref.ref, State]]] = []
        self.redo_stack: list[list[tuple[weakref.ref, State]]] = []
        self._states: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._restoring = False
        self._group: list[tuple[weakref.ref, State]] | None = None
        viewer.layers.events.inserted.connect(lambda event: self.track(event.value))
        for layer in viewer.layers:
            self.track(layer)
        self.bind_keys(viewer)

    def bind_keys(self, keymap_owner: Any) -> None:
        keymap_owner.bind_key("Control-Z", lambda *_: self.undo(), overwrite=True)
        keymap_owner.bind_key("Control-Shift-Z", lambda *_: self.redo(), overwrite=True)

    def track(self, layer: Any) -> None:
        """Follow the edits of ``layer`` (annotation and proposal layers only)."""
        if not _tracked(layer) or layer in self._states:
            return
        self._states[layer] = State.of(layer)
        if self._group is not None and len(layer.data):  # created by the action in progress
            self._group.append((weakref.ref(layer), State.empty(layer)))  # (a prediction):
            # its undo empties the layer (never removes it: PLATFORM.md)
        layer.events.data.connect(lambda event, ref=weakref.ref(layer): self._edited(ref, event))
        layer.events.features.connect(lambda event, ref=weakref.ref(layer): self._edited(ref))
        self.bind_keys(layer)  # the active layer gets the keys first

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Edits made inside are one undo step (e.g. a rename that touches several layers)."""
        if self._group is not None:  # nested: the outer transaction collects
            yield
            return
        self._group = []
        try:
            yield
        finally:
            group, self._group = self._group, None
            if group:
                self._push(group)

    def _push(self, entry: list) -> None:
        self.undo_stack.append(entry)
        del self.undo_stack[: max(0, len(self.undo_stack) - self.steps)]
        self.redo_stack.clear()

    def _edited(self, ref: weakref.ref, event: Any = None) -> None:
        layer = ref()
        if layer is None or self._restoring or (event is not None and not _finished(event)):
            return
        before = self._states.get(layer)
        now = State.of(layer)
        self._states[layer] = now
        if before is None or _same(before, now):
            return
        if self._group is None:
            self._push([(ref, before)])
        elif all(r() is not layer for r, _ in self._group):  # the state before the action
            self._group.append((ref, before))

    def _swap(self, source: list, target: list) -> Any:
        while source:
            entry = [(ref, state) for ref, state in source.pop() if ref() is not None]
            if not entry:
                continue
            target.append([(ref, State.of(ref())) for ref, _ in entry])
            self._restoring = True
            try:
                for ref, state in reversed(entry):
                    state.restore(ref())
            finally:
                self._restoring = False
            for ref, _ in entry:
                self._states[ref()] = State.of(ref())
            return entry[0][0]()
        return None

    def undo(self) -> Any:
        """Undo the last edit; returns the layer it changed (None when there is nothing)."""
        return self._swap(self.undo_stack, self.redo_stack)

    def redo(self) -> Any:
        """Redo the last undone edit; returns the layer it changed (None when there is nothing)."""
        return self._swap(self.redo_stack, self.undo_stack)


def _same(a: State, b: State) -> bool:
    def text(features):  # values, not dtypes (object vs string columns after a rename)
        return features.reset_index(drop=True).astype(str)

    if len(a.data) != len(b.data) or not text(a.features).equals(text(b.features)):
        return False
    return all(np.array_equal(x, y) for x, y in zip(a.data, b.data))


def edit_history(viewer: Any) -> EditHistory:
    """The viewer's :class:`EditHistory` (created on first use)."""
    history = _HISTORIES.get(viewer)
    if history is None:
        history = _HISTORIES[viewer] = EditHistory(viewer)
    return history
