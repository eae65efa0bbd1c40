# Two commands set everything up on a fresh machine:
#   make demo   builds the graph from seeds/ into out/ (no server needed)
#   make test   runs the whole test suite (starts a local Neo4j and uses headless Chromium)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: install demo test lint clean neo4j-start neo4j-stop browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kg build seeds -o out
	$(BIN)/kg query out -f queries/meetings.rq

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }
	@command -v curl >/dev/null 2>&1 || { \
	  echo "installing curl for the kg serve client test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }

test: $(STAMP) browser
	$(BIN)/ruff check kg tests scripts bench
	$(BIN)/python scripts/gen_namespaces.py --check
	$(BIN)/python -m pytest -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check kg tests scripts bench

neo4j-start:
	scripts/neo4j-local start

neo4j-stop:
	scripts/neo4j-local stop

clean:
	rm -rf out .pytest_cache
