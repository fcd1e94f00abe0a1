"""The ingest package's branch of litkg's exception tree (root:
:class:`kg.core.errors.LitkgError`, also ``kg.LitkgError``).

Every message names the fix: the file and line, the setting to change, or the
command to run. Nothing that raises one of these has lost stored data.
"""

from __future__ import annotations

from kg.core.errors import LitkgError


class IngestError(LitkgError):
    """Base of every error raised by ``ingest``."""


class SourceError(IngestError):
    """A source file (seed page, BibTeX, id list) could not be read or holds no papers."""


class StoreError(IngestError):
    """The corpus store is missing, corrupt or from an incompatible version."""


class S2Error(IngestError):
    """Semantic Scholar could not give an answer."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class S2NotFound(S2Error):
    """S2 answered 404: the id or title is unknown to Semantic Scholar."""


class S2BadRequest(S2Error):
    """S2 answered 400: our request was malformed (a bug, or an unsupported field)."""


class S2AuthError(S2Error):
    """S2 answered 401/403: the API key is missing, wrong or lacks access."""


class S2RateLimited(S2Error):
    """S2 kept answering 429 after every retry."""


class S2Unavailable(S2Error):
    """S2 could not be reached, timed out, or kept answering 5xx after every retry."""


class S2ResponseError(S2Error):
    """S2 answered 200 with a body we cannot read (malformed JSON, wrong shape)."""
