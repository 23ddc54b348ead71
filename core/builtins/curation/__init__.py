"""Curation of a built dataset: duplicates, benchmark contamination, difficulty and selection.

The rules and their algorithms live here, apart from any file or command. What a curation rule is
(``CurationRule``) lives with the other registrations in ``evolinstruct.types.curation``, since
plugins register more of them; ``runner`` applies a list of rules to a dataset's rows, and one module per rule does the work: ``exact`` (duplicates after
normalisation), ``near`` (MinHash-LSH near duplicates), ``contamination`` with ``benchmarks``
(fingerprints of benchmark items), ``selection`` (a Deita-style budget) and ``difficulty`` (the
LLM judge's prompt and the reading of its reply). ``evolinstruct.app.curate.curate`` reads and writes
the files and runs the command.
"""
