"""What reads a finished build: SPARQL (query, serve), networkx (stats, export), the HTML view,
and the Neo4j projection and loader."""
