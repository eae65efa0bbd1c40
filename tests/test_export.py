"""kg export on a multi-article build, read back by networkx, python-igraph and Gephi's own importer.

Every edge of the build must reach the reader: edge ids are unique in the file, parallel edges
of different relations (an official's REPRESENTS and HOLDS_POST to one state) stay apart, and
two posts of one person in one organization stay two edges. The expected edges are counted
from the RDF with SPARQL, not with the exporter's code.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import igraph
import networkx as nx
import pytest
from click.testing import CliRunner
from rdflib import Graph

from kg.cli import main
from kg.rdfio import parse_rdf_file

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GEPHI_PROGRAM = ROOT / "tests" / "gephi" / "GephiCount.java"
GEPHI_TOOLKIT = "org.gephi:gephi-toolkit:0.10.1:jar:all"

PREFIXES = "PREFIX dip: <https://w3id.org/dipkg/ontology#>\n"
NODES = PREFIXES + """
SELECT DISTINCT ?n WHERE {
  VALUES ?c { dip:Official dip:Person dip:State dip:Organization dip:Place
              dip:Meeting dip:Summit dip:PhoneCall dip:Visit dip:Quote }
  ?n a ?c }"""
EDGES = PREFIXES + """
SELECT ?s ?o ?rel WHERE {
  { VALUES (?p ?rel) { (dip:participant "PARTICIPANT") (dip:visitor "VISITOR") (dip:destination "DESTINATION")
                       (dip:location "LOCATION") (dip:speaker "SPEAKER") (dip:represents "REPRESENTS")
                       (dip:subOrganizationOf "SUB_ORGANIZATION_OF") (dip:locatedIn "LOCATED_IN")
                       (dip:partOf "PART_OF") }
    ?s ?p ?o }
  UNION
  { ?s dip:holds ?pos . ?pos dip:postIn ?o . BIND("HOLDS_POST" AS ?rel) }
}"""


def expected(build: Path) -> tuple[set[str], Counter[tuple[str, str, str]]]:
    """The exported nodes and the multiset of (source, target, relation) the build holds."""
    g: Graph = parse_rdf_file(build / "graph.ttl", "turtle")
    nodes = {str(r[0]) for r in g.query(NODES)}
    edges = Counter((str(s), str(o), str(rel)) for s, o, rel in g.query(EDGES) if str(s) in nodes and str(o) in nodes)
    return nodes, edges


@pytest.fixture(scope="module")
def exported(corpus_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corpus build exported by the command line, in both formats."""
    out = tmp_path_factory.mktemp("export")
    files = {}
    for fmt in ("graphml", "gexf"):
        target = out / f"corpus.{fmt}"
        res = CliRunner().invoke(main, ["export", str(corpus_build), "--format", fmt, "-o", str(target)])
        assert res.exit_code == 0, res.output
        files[fmt] = target
    return files


def test_the_build_has_parallel_edges_of_different_relations(corpus_build: Path) -> None:
    """What the readers below must keep apart is in the build (else they would prove nothing)."""
    _, edges = expected(corpus_build)
    relations: dict[tuple[str, str], set[str]] = {}
    for s, o, rel in edges:
        relations.setdefault((s, o), set()).add(rel)
    assert any({"REPRESENTS", "HOLDS_POST"} <= rels for rels in relations.values())
    assert sum(edges.values()) > 80


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_edge_ids_are_unique_and_every_edge_is_read_by_networkx(corpus_build: Path, exported: dict[str, Path],
                                                               fmt: str) -> None:
    nodes, edges = expected(corpus_build)
    ids = [e.get("id") for e in ET.parse(exported[fmt]).getroot().iter() if e.tag.endswith("edge")]
    assert len(ids) == sum(edges.values()) and len(set(ids)) == len(ids)
    net = nx.read_graphml(exported[fmt], force_multigraph=True) if fmt == "graphml" else nx.read_gexf(exported[fmt])
    assert set(net.nodes) == nodes
    assert Counter((u, v, d["relation"]) for u, v, d in net.edges(data=True)) == edges


def test_igraph_reads_every_node_and_edge_of_the_graphml(corpus_build: Path, exported: dict[str, Path]) -> None:
    nodes, edges = expected(corpus_build)
    g = igraph.Graph.Read_GraphML(str(exported["graphml"]))
    assert g.is_directed()
    assert set(g.vs["id"]) == nodes
    got = Counter((g.vs[e.source]["id"], g.vs[e.target]["id"], e["relation"]) for e in g.es)
    assert got == edges
    official = next(v for v in g.vs if v["cls"] == "Official")
    assert official["label"] and official["iri"] == official["id"]


@pytest.fixture(scope="session")
def gephi_toolkit() -> Path:
    """Gephi's toolkit jar (Gephi's importers, headless), fetched once with mvn from Maven Central."""
    cache = Path(os.environ.get("KG_CACHE") or Path.home() / ".cache" / "kg") / "gephi"
    jar = cache / "gephi-toolkit-0.10.1-all.jar"
    if not jar.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["mvn", "-q", "-B", "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
             f"-Dartifact={GEPHI_TOOLKIT}", f"-DoutputDirectory={cache}"],
            capture_output=True, text=True, timeout=900, check=False, cwd=cache,
        )
        if proc.returncode != 0 or not jar.is_file():
            pytest.fail(f"mvn could not fetch {GEPHI_TOOLKIT}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}",
                        pytrace=False)
    return jar


def gephi_read(jar: Path, path: Path) -> tuple[int, list[tuple[str, str, str]]]:
    """Nodes and (type, source, target) of the edges Gephi keeps when it opens ``path``."""
    proc = subprocess.run(
        ["java", "-Djava.awt.headless=true", "-Xmx512m", "-cp", str(jar), str(GEPHI_PROGRAM), str(path)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    nodes = int(lines[0].split()[1])
    edges = [tuple(line.split("\t")[1:]) for line in lines[2:]]
    assert int(lines[1].split()[1]) == len(edges)
    return nodes, edges  # type: ignore[return-value]


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_gephi_keeps_every_node_and_edge(corpus_build: Path, exported: dict[str, Path], gephi_toolkit: Path,
                                         fmt: str) -> None:
    nodes, edges = expected(corpus_build)
    n, gephi_edges = gephi_read(gephi_toolkit, exported[fmt])
    assert n == len(nodes)
    # Gephi's edge type is the relation; a second post of one person in one organization is "HOLDS_POST 2"
    got = Counter((source, target, kind.split(" ")[0]) for kind, source, target in gephi_edges)
    assert got == edges
    assert len(set(gephi_edges)) == len(gephi_edges)
