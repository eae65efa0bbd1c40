"""kg serve's query page (kg/static/query.js) in headless Chromium: the editor knows the prefixes the
server pre-binds, and still marks a prefix nobody declared."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from test_example_queries import serving
from test_view import CHROMIUM_ARGS, _chromium

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample.ttl"


@pytest.mark.browser
def test_the_editor_knows_the_pre_bound_prefixes() -> None:
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    errors: list[str] = []
    with serving(SAMPLE) as endpoint, tempfile.TemporaryDirectory(prefix="kg-chromium-") as profile, \
            sync_playwright() as pw:
        base = endpoint.rsplit("/", 1)[0]
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(base + "/")
            page.wait_for_function("window.kgYasgui && window.kgYasgui.getTab().getYasqe()", timeout=30_000)

            def check(query: str) -> dict:
                """Type the query; whether the editor takes it, and its error marks."""
                yasqe = page.locator(".tabPanel.active .CodeMirror").first
                yasqe.click()
                page.keyboard.press("Control+A")
                page.keyboard.press("Delete")
                page.keyboard.insert_text(query)
                page.wait_for_timeout(500)
                return page.evaluate(
                    """() => { const y = window.kgYasgui.getTab().getYasqe();
                               const end = {line: y.lastLine(), ch: y.getLine(y.lastLine()).length};
                               return {valid: y.queryValid, value: y.getValue(),
                                       error: y.getTokenAt(end, true).state.errorMsg || null,
                                       marks: document.querySelectorAll(
                                         '.tabPanel.active .parseErrorIcon').length}; }""")

            known = check("SELECT ?m WHERE { ?m a dip:Summit }")
            assert known == {"valid": True, "value": "SELECT ?m WHERE { ?m a dip:Summit }", "error": None,
                             "marks": 0}
            assert check("SELECT ?p ?n WHERE { ?p a dip:Official ; rdfs:label ?n ; skos:altLabel ?a }")["valid"]
            unknown = check("SELECT ?m WHERE { ?m a foo:Summit }")
            assert unknown["valid"] is False and unknown["marks"] == 1
            assert unknown["error"] == "Prefix 'foo' is not defined"
            # and the server answers the query the editor took
            assert check(known["value"])["valid"]
            page.locator(".yasqe_queryButton:visible").click()
            page.wait_for_selector(".tabPanel.active .yasr table.dataTable tbody tr", timeout=30_000)
            rows = page.eval_on_selector_all(".tabPanel.active .yasr table.dataTable tbody tr td:nth-child(2)",
                                             "tds => tds.map(t => t.textContent.trim())")
            assert rows and all(r.startswith(("id:meeting/", "https://w3id.org/dipkg/id/meeting/")) for r in rows), rows
        finally:
            context.close()
    assert errors == []
