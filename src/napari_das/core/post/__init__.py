"""Post-processing of class probabilities into song: event detection (``events``), segment
cleanup by gap filling and minimum length (``segments``) and the streaming post-processor that
turns probability blocks into events and segments while holding only the open part of a
recording (``stream``).  Pure numpy; knows nothing about models.
"""
