"""The Docker sandbox that runs code answers."""
