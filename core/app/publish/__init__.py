"""What a build folder becomes for readers: the report page, the dataset card and the exports.

The entry points are ``report`` (``evol report``), ``card.write_card`` and ``export.export``.
"""
