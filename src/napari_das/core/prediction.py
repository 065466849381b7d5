"""Deprecated: ``napari_das.core.prediction`` was split; its public names now live in

- :mod:`napari_das.core.post.stream`
- :mod:`napari_das.core.inference.predict`

These re-exports go in the next release; import from the new modules.
"""

from . import deprecated
from .inference.predict import Prediction
from .post.stream import (
    Events,
    PostProcessor,
    Segments,
)

__all__ = ['Events', 'PostProcessor', 'Prediction', 'Segments']

deprecated.warn_moved(__name__,
                      'napari_das.core.post.stream',
                      'napari_das.core.inference.predict')
