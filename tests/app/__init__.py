"""Tests of what a user runs on a build folder: the report page (in Chromium) and the dataset card."""
