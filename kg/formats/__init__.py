"""Reading lists in and out: BibTeX, RIS, CSL-JSON, Markdown and CSV.

:mod:`kg.formats.registry` names the formats and dispatches (``export``, ``read_entries``,
``import_papers``, ``FORMATS``); each format has its module (``bibtex``, ``ris``, ``csl``,
``markdown``, ``csv``), and what they share is in :mod:`kg.formats.entries`.
"""
