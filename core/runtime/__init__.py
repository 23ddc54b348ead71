"""The runtime: the LLM client, the response cache, seeds, the plugin host, the evolution loop
and the files it writes. Imports only the bottom layer (``evolinstruct.types``)."""
