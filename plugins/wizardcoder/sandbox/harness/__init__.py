"""What runs inside a sandbox container: the supervisor (PID 1) and each language's recipe.

These files are copied into the image at /opt/sandbox and run there with the image's Python 3
(standard library only), Node.js and Java. The host imports the Python ones too, for the list of
languages and for unit tests of the framing, but never runs a job with them.
"""
