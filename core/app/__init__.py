"""The application layer: what a user runs on a build folder (the report, the dataset card)."""
