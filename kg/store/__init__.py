"""The corpus store (SQLite), reading lists, and portable snapshots of both."""
