"""The bundled offline model and the loopback OpenAI-compatible server that serves it.

A build with no endpoint configured runs against it (and says so); the testing kit re-exports
the server so that plugin tests talk to a real HTTP endpoint. Imports only the bottom layer.
"""
