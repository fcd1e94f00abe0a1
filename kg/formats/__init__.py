"""Reading lists in and out: BibTeX, RIS, CSL-JSON, Markdown and CSV."""
