"""Running a trained model on recordings: window geometry, the model runner, preprocessing
(band-pass, resampling, noise matching), ``predict()`` and its ``Prediction``, and predicting
whole files and folders into annotation CSVs (``files``).  TensorFlow is imported only when a
model is loaded or run.
"""
