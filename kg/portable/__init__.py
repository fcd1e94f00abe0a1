"""Portable snapshots: a data dir as Parquet files with a manifest (export, import), and
the bundled starter snapshot for a first run without network.
"""
