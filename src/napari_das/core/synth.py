"""Deprecated: moved to :mod:`napari_das.core.data.synth`; this alias goes in the next release."""

from . import deprecated
from .data.synth import *  # noqa: F403 - the public names under the old path

deprecated.warn_moved(__name__, "napari_das.core.data.synth")
