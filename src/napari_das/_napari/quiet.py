"""Layer changes without napari's work that a camera-following change does not need (no Qt).

napari answers every change of a layer's placement (``scale``, ``affine``) by recomputing the
viewer's dims from the extents of all layers and re-slicing every layer, and by re-slicing the
changed one (with a new thumbnail).  The layers napari-das moves at each camera change (the
waveform strip and the axis follow the camera; the time view stretches the frequency axis)
need none of it: their data do not change, and the next canvas draw slices what it shows
(napari checks the level and tile of a multiscale image at every draw).  These helpers reach
into napari's private API (``Layer._block_refresh``, the ``_on_layers_change`` callback), each
with a fall-back to napari's ordinary behaviour.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)


def no_dims_update(layer: Any, event: str) -> None:
    """Stop the viewer recomputing its dims (and re-slicing every layer) when ``layer``'s
    ``event`` (``"scale"``, ``"affine"``) fires.  The layer's extent cache is still cleared, and
    adding or removing a layer recomputes the dims as before.  Safe for layers whose placement
    never changes what the dims must span in a 2D view (a 2D layer's displayed axes)."""
    emitter = getattr(layer.events, event)
    for callback in list(emitter.callbacks):
        name = callback[1] if isinstance(callback, tuple) else getattr(callback, "__name__", "")
        if name == "_on_layers_change":
            try:
                emitter.disconnect(callback)
            except (ValueError, TypeError, RuntimeError):  # a napari that stores it otherwise
                log.debug("could not disconnect %r", callback)


def no_refresh(layer: Any):
    """A context in which ``layer`` does not re-slice itself (napari's ``_block_refresh``; a
    no-op context on a napari without it)."""
    block = getattr(layer, "_block_refresh", None)
    return block() if callable(block) else contextlib.nullcontext()
