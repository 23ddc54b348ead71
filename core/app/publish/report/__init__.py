"""``evol report``: a build folder read into a report model, drawn as one self-contained page.

- ``model.read_build(folder)`` reads the folder's files into a ``BuildReport``: counts per round,
  operation and filter, distributions, tokens, the curation summary, a sample of lineages;
- ``page.render_report(report, sections)`` draws it (the entry point, with ``page.write_report``):
  the core's sections, then the domain plugins' ``ReportSection`` objects, then the lineage browser.

What a section reads and returns is the public contract in ``evolinstruct.report``. Nothing is
imported here, so that reading a folder (the dataset card, after every build) loads no charting
library: only ``charts`` and ``page`` do.
"""
