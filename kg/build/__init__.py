"""The stages of ``kg build``, in the order an article goes through them.

ingest (read articles) -> nlp (GiNZA parse) -> recognize (mentions) -> resolve (entities in a
document) -> extract/ (statements) -> mapping (RDF) -> events (one node per event across
articles) -> validate (SHACL) -> pipeline (the whole build, cache and outputs).
"""
