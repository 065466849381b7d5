"""Reading and writing what the user owns: audio files in every supported format, annotation
CSVs and song-type definitions, the ``_params.yaml`` of a trained model, the ``_results.h5``
of training and evaluation, and the npy-dir dataset store in DAS's layout.  The first stage:
it imports nothing from later stages and never imports TensorFlow.
"""
