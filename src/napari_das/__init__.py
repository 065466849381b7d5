"""napari-das: Deep Audio Segmenter for napari.

Annotate animal song in napari, make a DAS-compatible dataset, train a temporal
convolutional network and annotate hours of new recordings.  The library lives in
:mod:`napari_das.core` (no napari, Qt or magicgui imports; TensorFlow is imported lazily),
the ``das`` command in :mod:`napari_das.cli`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
