"""The napari-das library, one sub-package per stage of the workflow, in import order:
``io`` (audio, annotations, params, results, dataset store) -> ``data`` (targets, splits,
chunks, dataset assembly, synthetic song) -> ``nn`` (layers, model) -> ``post`` (events,
segments, streaming post-processing) -> ``inference`` (running a model on recordings) ->
``evaluation`` (metrics, evaluate, plots) -> ``training``.  ``errors``, ``progress``,
``timebase`` and ``config`` are the base every stage uses.  A module imports only from its own or
earlier stages (``tests/test_stages.py``).  The flat module paths of earlier versions
(``napari_das.core.audio``, ``.predict``, ...) are deprecated aliases (``deprecated.py``).

Never imports napari, Qt or magicgui.  TensorFlow is only imported inside the functions that
build or run a model.
"""
