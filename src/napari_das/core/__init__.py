"""The napari-das library: audio and annotation I/O, targets, datasets, models, training,
prediction, post-processing, metrics and synthetic song.

Never imports napari, Qt or magicgui.  TensorFlow is only imported inside the functions that
build or run a model.
"""
