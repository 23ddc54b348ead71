"""The core's own plugins: the ``general`` domain (which can be disabled) and the ``core``
plugin with the paper's elimination rules and the export formats (which cannot)."""
