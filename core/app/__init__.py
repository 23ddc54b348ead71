"""The application: the build as an object (configuration, output folder, run, summary), the
Python API, and the ``evol`` command line as a thin layer over them."""
