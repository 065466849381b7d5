"""Deprecated: ``napari_das.core.postprocess`` was split; its public names now live in

- :mod:`napari_das.core.post.segments`
- :mod:`napari_das.core.evaluation.tune`

These re-exports go in the next release; import from the new modules.
"""

from . import deprecated
from .evaluation.tune import (
    geomspace_grid,
    post_opt,
)
from .post.segments import (
    Segment,
    clean_labels,
    detect_segments,
    fill_gaps,
    label_segments,
    remove_short,
    runs,
    segments_from_labels,
)

__all__ = ['Segment', 'clean_labels', 'detect_segments', 'fill_gaps', 'geomspace_grid',
           'label_segments', 'post_opt', 'remove_short', 'runs', 'segments_from_labels']

deprecated.warn_moved(__name__,
                      'napari_das.core.post.segments',
                      'napari_das.core.evaluation.tune')
