"""From annotated recordings to a dataset: per-sample targets, seeded train/val/test splits,
training chunks that never straddle two recordings, dataset assembly into the store,
synthetic song for tests and demos, recording levels (noise floor, gain matching) and the
spectrogram used by the viewer.  Builds on ``core.io``; no TensorFlow at import time.
"""
