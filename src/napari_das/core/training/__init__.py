"""Training the network: the training loop (``train``), its setup (input checks, seeding,
distribution strategy, tf.data pipelines, test evaluation and result writing) and the Keras
callbacks that keep the best model, report progress and honour a stop request.  The last stage:
it may use every other stage; TensorFlow is imported only inside functions.
"""
