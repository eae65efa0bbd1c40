"""kg: build a diplomacy knowledge graph from news articles."""

__version__ = "0.1.0"
