"""``PredictionConfig``: the options of ``das predict`` and the Predict widget."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DasError
from .base import ConfigBase, option


@dataclass
class PredictionConfig(ConfigBase):
    """Options of ``das predict`` and the Predict widget (post-processing included)."""

    batch_size: int | None = option(None, "samples per forward pass, counted in training "
                                    "chunks as in DAS: N means N x nb_hist samples (memory "
                                    "grows with it; default: 524288 samples)", min=1,
                                    label="Batch size")
    event_thres: float = option(0.5, "event detection threshold on the probability", min=0.0,
                                max=1.0, label="Event threshold")
    event_dist: float | None = option(None, "minimum distance between events, seconds "
                                      "(non-maximum suppression; default: chosen at training, "
                                      "else 0.01)", min=0.0, label="Min event interval (s)")
    event_dist_min: float = option(0.0, "drop events closer than this to a neighbour, seconds",
                                   min=0.0, label="Delete events closer than (s)")
    event_dist_max: float | None = option(None, "drop isolated events farther than this from "
                                          "both neighbours, seconds (default: keep all)", min=0.0,
                                          label="Delete events farther than (s)")
    segment_thres: float = option(0.5, "segment detection threshold: song where the segment "
                                  "classes' probabilities sum above it (the most probable one "
                                  "names it)", min=0.0,
                                  max=1.0, label="Segment threshold")
    segment_thres_low: float | None = option(None, "hysteresis: a syllable found at the segment "
                                             "threshold keeps its soft start (up to 0.5 s back) "
                                             "and end while the sum stays above this (default: "
                                             "half the segment threshold with two or more segment "
                                             "classes, none with one; at or above the segment "
                                             "threshold: none)", min=0.0, max=1.0,
                                             label="Segment edges down to")
    segment_use_optimized: bool = option(True, "use the post-processing chosen at training "
                                         "(fill gap, min length, event interval) for values "
                                         "not given here", label="Use optimized post-processing")
    segment_minlen: float | None = option(None, "remove segments shorter than this, seconds",
                                          min=0.0, label="Delete segments shorter than (s)")
    segment_fillgap: float | None = option(None, "fill gaps between segments shorter than this, "
                                           "seconds", min=0.0, label="Fill gaps shorter than (s)")
    bandpass_low_freq: float | None = option(None, "band-pass lower cutoff in Hz before inference",
                                             min=0.0, label="Band-pass low (Hz)")
    bandpass_up_freq: float | None = option(None, "band-pass upper cutoff in Hz before inference",
                                            min=0.0, label="Band-pass high (Hz)")
    resample: bool = option(True, "resample audio to the model's sample rate",
                            label="Resample")
    training_windows: bool = option(True, "run a network trained on chunks shorter than its "
                                    "receptive field on its training chunks (DAS's geometry, "
                                    "what it learned on; --no-training-windows: long windows "
                                    "instead, faster but off its training distribution)",
                                    label="Predict in training chunks")
    precision: str = option("float32", "arithmetic of the network's dilated convolutions: "
                            "float32, bfloat16 (only at shapes a numeric check passes, float32 "
                            "elsewhere; probabilities within about 0.01 of float32), or auto "
                            "(bfloat16 on CPUs with AMX and GPUs of compute capability >= 8, "
                            "where it is faster; float32 elsewhere)",
                            choices=("float32", "bfloat16", "auto"),
                            label="Precision")
    match_noise: bool = option(False, "scale the recording so that its background noise level "
                               "matches the training audio's (napari-das models): for recordings "
                               "made with another gain; wrong where only the background changed",
                               label="Match noise level to training")

    def _check(self) -> None:
        lo, hi = self.bandpass_low_freq, self.bandpass_up_freq
        if lo is not None and hi is not None and lo >= hi:
            raise DasError(f"--bandpass-low-freq {lo} must be below --bandpass-up-freq {hi}")
