"""The core every other room stands on: identifiers and text normalisation, the paper model,
errors, settings and file I/O.
"""
