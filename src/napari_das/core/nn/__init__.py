"""The network: the TCN and its optional trainable STFT frontend (``model``) and the custom
Keras layers they are made of (``layers``), with model building, loading and receptive-field
arithmetic.  TensorFlow is imported only inside the functions that build or run a model, so
importing this package stays light.
"""
