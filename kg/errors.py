"""One error base class, one subclass per stage. The CLI maps them to exit codes."""

from __future__ import annotations


class KgError(Exception):
    """Base class of every error kg reports to a user. The message says what to do next."""

    exit_code = 2


class IngestError(KgError):
    """An input file or corpus line cannot be read as an article."""


class NlpError(KgError):
    """The Japanese model is missing or failed."""


class ExtractError(KgError):
    """Extraction failed on a document."""


class MappingError(KgError):
    """A statement cannot be mapped onto the ontology (e.g. an imported statement is malformed)."""


class ValidationError(KgError):
    """Validation could not run (bad shapes or data file). Non-conformance is not an error."""


class WriteError(KgError):
    """An output could not be written."""


class ReadError(KgError):
    """A build directory or an RDF file cannot be opened for reading (missing, damaged, refused)."""


class QueryError(KgError):
    """A SPARQL query is malformed or not allowed (updates are refused)."""


class Neo4jError(KgError):
    """The Neo4j server is unreachable, refused the credentials, or a write failed."""


class EvalError(KgError):
    """A gold annotation file is malformed, or the article it annotates is missing."""


class ClusterError(KgError):
    """The Dask scheduler cannot be reached, its workers cannot run this kg, or it was lost mid-build."""
