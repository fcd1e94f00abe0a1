"""litkg's one exception tree. Every message says what to do next.

:class:`LitkgError` is the root of every error litkg raises on purpose, from ``kg``
and from ``ingest`` alike (``ingest.errors.IngestError`` derives from it), so an
adapter (the CLI, the app, the MCP server) catches exactly one class and shows its
message; anything else is a bug and keeps its traceback. ``kg.LitkgError`` is the
same class.
"""


class LitkgError(Exception):
    """Root of every error litkg raises: the message names the fix."""


class KGError(LitkgError):
    """Base of every error raised by ``kg`` (the graph, its stores and readers)."""


class ConfigError(KGError):
    """A setting is invalid (the message names the setting and the env var)."""


class DataDirReadOnly(KGError):
    """A write was needed where the file system allows none (the message names the path)."""


class DataDirBusy(KGError):
    """Another litkg writer (ingest, build, import-list) holds the data dir's writer lock."""


class GraphStoreError(KGError):
    """The RDF store cannot be opened or written (the message names the dir and the fix)."""


class SparqlError(KGError):
    """A SPARQL query could not be run."""


class SparqlSyntaxError(SparqlError):
    """The query does not parse; ``line`` and ``column`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column

    def __reduce__(self) -> tuple[type, tuple[str, int | None, int | None]]:
        # line and column survive the trip back from a query worker process
        return (type(self), (str(self), self.line, self.column))


class ReadOnlyError(SparqlError):
    """A SPARQL Update was sent where only queries are allowed."""


class ServiceRefused(SparqlError):
    """A query uses SERVICE (federated query) and the setting that allows it is off."""


class QueryTimeout(SparqlError):
    """A query ran past its time limit and was stopped."""


class QueryParamError(SparqlError):
    """A query parameter is missing, unknown or malformed."""


class NotInGraphError(KGError):
    """A resource asked for is not in the knowledge graph."""


class RecommendError(KGError):
    """A recommendation cannot be made (empty read set, filters that exclude everything)."""


class UnknownPaperError(RecommendError):
    """Paper ids or titles that match no paper (or several); ``unknown`` maps each input
    to its closest suggestions."""

    def __init__(self, message: str, unknown: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.unknown = dict(unknown or {})


class EvaluationError(RecommendError):
    """An evaluation cannot be run (too few papers with enough references, no groups)."""


class ExportError(KGError):
    """Papers cannot be exported or imported (unknown format, unreadable file)."""


class ReadingListError(KGError):
    """A reading-list operation failed (unknown list or paper, bad name, corrupt file)."""


class BuildError(KGError):
    """The graph has not been built, or its artefacts are unreadable."""


class WatchError(KGError):
    """A watch cannot run as asked (a bad ``--since``, an unknown list, a broken state)."""
