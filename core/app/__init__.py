"""Whole-dataset commands over a build folder, as functions with a thin click layer on top."""
