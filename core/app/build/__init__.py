"""One build: its configuration, output folder, run and summary.

The entry point is ``build.Build`` (and ``build.build``, the Python API); ``config`` holds the
options, ``folder`` and ``manifest`` what a build leaves on disk, ``outcome`` its summary and exit
code. Kept free of imports so that reading the options does not load the engine.
"""
