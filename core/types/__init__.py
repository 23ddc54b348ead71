"""The bottom layer: what flows through a run, what plugins register, the context plugin code
receives, and the errors. It imports nothing else of evolinstruct."""
