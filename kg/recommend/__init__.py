"""What to read next: the per-paper index, signals, fusion, explanations, reading paths and
their evaluation.
"""
