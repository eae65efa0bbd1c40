"""The ``kg`` command line: a thin layer over the library.

Each command is a few lines over a library call; a :class:`kg.errors.KgError` becomes a
one-line error on stderr and its exit code (2 for bad input, config or connection;
1 when the graph does not conform to the shapes).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from kg import __version__
from kg.errors import KgError


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a KgError into a one-line message on stderr and its exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KgError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
def main() -> None:
    """kg builds a diplomacy knowledge graph from news articles.

    \b
    Example:
      kg build seeds -o out
      kg query out 'SELECT ?p ?title WHERE { ?p dip:holds/dip:title ?title }'
    """


# --- build / validate commands ---

# --- query / serve commands ---

# --- stats / export / view commands ---

# --- neo4j commands ---


if __name__ == "__main__":  # pragma: no cover
    main()
