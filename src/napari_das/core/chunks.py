"""Deprecated: moved to :mod:`napari_das.core.data.chunks`; this alias goes in the next release."""

from . import deprecated
from .data.chunks import *  # noqa: F403 - the public names under the old path

deprecated.warn_moved(__name__, "napari_das.core.data.chunks")
