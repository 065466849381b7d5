"""Scoring a model against ground truth: event and segment metrics (``metrics``), evaluation of
a trained model on a dataset split (``evaluate``), the post-processing search and the
evaluation plots (``plots``).  Uses inference and post-processing; never imported by them.
"""
