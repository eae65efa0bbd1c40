/* The kg graph view: renders the embedded graph data with vis-network (inlined by kg/view.py).
 * Data come from <script type="application/json" id="kg-data">; every string from the data is
 * put into the page as text (textContent), never as HTML. window.kgView is a small API for
 * scripts and tests: nodeCount(), visibleIds(), select(id), domPosition(id), setClass(), setDates().
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("kg-data").textContent);
  var styles = {};
  data.classes.forEach(function (c) { styles[c.id] = c; });
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });

  var GLYPHS = { dot: "●", diamond: "◆", square: "■", triangle: "▲", hexagon: "⬢", star: "★",
    triangleDown: "▼", box: "▬", ellipse: "⬬" };
  var state = { classes: {}, from: "", to: "", undated: true };
  data.classes.forEach(function (c) { state.classes[c.id] = true; });

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; }
      else if (k === "className") { e.className = attrs[k]; }
      else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }

  /* ---- the network ------------------------------------------------------------------- */

  function visNode(n) {
    var s = styles[n.cls] || { color: "#999", shape: "dot", size: 10 };
    var tip = n.fullLabel + " (" + (s.ja || n.cls) + (n.start ? ", " + n.start : "") + ")";
    return {
      id: n.id, label: n.label, title: tip, shape: s.shape, size: s.size,
      color: { background: s.color, border: s.color, highlight: { background: "#ffd54f", border: "#ff6f00" } },
      font: { size: n.cls === "Quote" ? 10 : 13, color: "#222",
        face: "Noto Sans CJK JP, Hiragino Sans, Yu Gothic, Meiryo, sans-serif" },
      hidden: false
    };
  }

  var nodes = new vis.DataSet(data.nodes.map(visNode));
  var edges = new vis.DataSet(data.edges.map(function (e, i) {
    return {
      id: "e" + i, from: e.from, to: e.to, arrows: "to", title: e.rel + (e.label ? ": " + e.label : ""),
      label: e.rel === "HOLDS_POST" ? e.label : undefined, dashes: e.rel === "HOLDS_POST",
      font: { size: 10, color: "#555", strokeWidth: 2 }, color: { color: "#b0bec5", highlight: "#ff6f00" },
      smooth: false
    };
  }));
  var container = document.getElementById("kg-graph");
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, {
    physics: { stabilization: { iterations: 400, fit: true }, barnesHut: { gravitationalConstant: -4000,
      springLength: 110 } },
    interaction: { hover: true, tooltipDelay: 150 },
    layout: { randomSeed: 7 }
  });

  function markReady() {
    if (document.body.dataset.kgReady === "true") { return; }
    network.setOptions({ physics: false });
    network.fit();
    document.body.dataset.kgReady = "true";
    document.body.dataset.kgNodeCount = String(visibleIds().length);
  }
  network.once("stabilizationIterationsDone", markReady);
  network.once("stabilized", markReady);
  if (data.nodes.length === 0) { markReady(); }
  setTimeout(markReady, 8000);

  network.on("click", function (params) {
    if (params.nodes.length) { showDetails(params.nodes[0]); }
  });

  /* ---- filters -------------------------------------------------------------------------- */

  function pad(date, high) {
    if (!date) { return null; }
    if (/^\d{4}$/.test(date)) { return date + (high ? "-12-31" : "-01-01"); }
    if (/^\d{4}-\d{2}$/.test(date)) { return date + (high ? "-31" : "-01"); }
    return date.slice(0, 10);
  }

  function visible(n) {
    if (!state.classes[n.cls]) { return false; }
    if (!n.event || (!state.from && !state.to)) { return true; }
    var start = pad(n.start, false);
    if (!start) { return state.undated; }
    var end = pad(n.end || n.start, true);
    if (state.from && end < state.from) { return false; }
    if (state.to && start > state.to) { return false; }
    return true;
  }

  function visibleIds() {
    return data.nodes.filter(visible).map(function (n) { return n.id; });
  }

  function applyFilters() {
    nodes.update(data.nodes.map(function (n) { return { id: n.id, hidden: !visible(n) }; }));
    var count = visibleIds().length;
    document.body.dataset.kgNodeCount = String(count);
    document.getElementById("kg-summary").textContent =
      count + " / " + data.nodes.length + " ノード表示 · " + data.edges.length + " エッジ" +
      (data.meta.source ? " · " + data.meta.source : "");
  }

  var legend = document.getElementById("kg-legend");
  data.classes.forEach(function (c) {
    var box = el("input", { type: "checkbox", "data-class": c.id });
    box.checked = true;
    box.addEventListener("change", function () { state.classes[c.id] = box.checked; applyFilters(); });
    var glyph = el("span", { className: "kg-glyph", text: GLYPHS[c.shape] || "●" });
    glyph.style.color = c.color;
    legend.appendChild(el("li", {}, [
      el("label", { className: "kg-check" }, [box, glyph, document.createTextNode(" " + c.ja + " "),
        el("small", { text: c.en })]),
      el("span", { className: "kg-count", text: String(c.count) })
    ]));
  });

  var from = document.getElementById("kg-date-from");
  var to = document.getElementById("kg-date-to");
  var undated = document.getElementById("kg-undated");
  function onDates() {
    state.from = from.value; state.to = to.value; state.undated = undated.checked; applyFilters();
  }
  [from, to, undated].forEach(function (i) { i.addEventListener("change", onDates); i.addEventListener("input", onDates); });
  document.getElementById("kg-date-reset").addEventListener("click", function () {
    from.value = ""; to.value = ""; undated.checked = true; onDates();
  });
  var dates = data.nodes.filter(function (n) { return n.event && n.start; }).map(function (n) { return pad(n.start, false); });
  if (dates.length) {
    dates.sort();
    from.min = to.min = dates[0].slice(0, 4) + "-01-01";
  }

  var search = document.getElementById("kg-search");
  var results = document.getElementById("kg-search-results");
  search.addEventListener("input", function () {
    results.textContent = "";
    var q = search.value.trim();
    if (!q) { return; }
    data.nodes.filter(function (n) {
      return n.names.some(function (name) { return name.indexOf(q) >= 0; });
    }).slice(0, 20).forEach(function (n) {
      var li = el("li", { text: n.fullLabel + " (" + ((styles[n.cls] || {}).ja || n.cls) + ")" });
      li.addEventListener("click", function () { select(n.id); });
      results.appendChild(li);
    });
  });

  /* ---- details panel ------------------------------------------------------------------- */

  function ref(id, text) {
    var a = el("a", { className: "kg-ref", text: text, href: "#", "data-ref": id });
    a.addEventListener("click", function (ev) { ev.preventDefault(); select(id); });
    return a;
  }

  function link(url) {
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url });
  }

  /* The sentence as text nodes, with the node's names marked. */
  function highlighted(text, names) {
    var frag = document.createDocumentFragment();
    var words = names.filter(function (w) { return w && w.length > 1; })
      .sort(function (a, b) { return b.length - a.length; });
    var i = 0;
    while (i < text.length) {
      var hit = null, at = text.length;
      words.forEach(function (w) {
        var k = text.indexOf(w, i);
        if (k >= 0 && (k < at || (k === at && hit && w.length > hit.length))) { hit = w; at = k; }
      });
      if (!hit) { frag.appendChild(document.createTextNode(text.slice(i))); break; }
      if (at > i) { frag.appendChild(document.createTextNode(text.slice(i, at))); }
      frag.appendChild(el("mark", { text: hit }));
      i = at + hit.length;
    }
    return frag;
  }

  function showDetails(id) {
    var n = byId[id];
    var panel = document.getElementById("kg-details");
    panel.textContent = "";
    if (!n) { return; }
    panel.dataset.nodeId = id;
    var s = styles[n.cls] || { color: "#999", ja: n.cls, en: n.cls };
    var badge = el("span", { className: "kg-badge", text: s.ja + " · " + s.en });
    badge.style.background = s.color;
    panel.appendChild(el("h3", { text: n.fullLabel }));
    panel.appendChild(badge);
    panel.appendChild(el("div", { className: "kg-iri", text: n.id }));

    var rows = n.props.map(function (p) {
      var value = p.ref ? ref(p.ref, p.text)
        : p.iri ? el("span", { text: p.text, title: p.iri }) : document.createTextNode(p.text);
      return el("tr", {}, [el("th", { text: p.key }), el("td", {}, [value])]);
    });
    var incoming = data.edges.filter(function (e) { return e.to === id; });
    incoming.forEach(function (e) {
      var other = byId[e.from];
      if (other) {
        rows.push(el("tr", {}, [el("th", { text: "← " + e.rel.toLowerCase() }),
          el("td", {}, [ref(other.id, other.fullLabel)])]));
      }
    });
    panel.appendChild(el("table", { className: "kg-props" }, [el("tbody", {}, rows)]));

    panel.appendChild(el("h2", {}, [document.createTextNode("根拠の文 "), el("small", { text: "evidence" })]));
    var list = el("div", { className: "kg-evidence-list" });
    if (!n.evidence.length) { list.appendChild(el("p", { className: "kg-hint", text: "(なし)" })); }
    n.evidence.forEach(function (ev) {
      var meta = el("div", { className: "kg-evidence-meta" });
      if (ev.via) {
        meta.appendChild(document.createTextNode("→ "));
        meta.appendChild(ev.viaRef ? ref(ev.viaRef, ev.via) : document.createTextNode(ev.via));
        meta.appendChild(document.createTextNode(" · "));
      }
      meta.appendChild(document.createTextNode((ev.docLabel || "") +
        (ev.rule ? " · " + ev.rule : "") + (ev.confidence !== null ? " · " + ev.confidence : "")));
      list.appendChild(el("blockquote", { className: "kg-evidence" },
        [el("div", { className: "kg-sentence" }, [highlighted(ev.text, n.names)]), meta]));
    });
    panel.appendChild(list);

    panel.appendChild(el("h2", {}, [document.createTextNode("出典 "), el("small", { text: "sources" })]));
    var sources = el("ul", { className: "kg-sources" });
    n.sources.forEach(function (u) { sources.appendChild(el("li", {}, [link(u)])); });
    if (!n.sources.length) { sources.appendChild(el("li", { className: "kg-hint", text: "(なし)" })); }
    panel.appendChild(sources);
  }

  function select(id) {
    if (!byId[id]) { return false; }
    network.selectNodes([id]);
    network.focus(id, { scale: Math.max(network.getScale(), 1), animation: false });
    showDetails(id);
    return true;
  }

  function domPosition(id) {
    var pos = network.getPositions([id])[id];
    if (!pos) { return null; }
    var p = network.canvasToDOM(pos);
    var rect = container.getBoundingClientRect();
    return { x: rect.left + p.x, y: rect.top + p.y };
  }

  applyFilters();

  window.kgView = {
    network: network,
    data: data,
    nodeCount: function () { return visibleIds().length; },
    totalCount: function () { return data.nodes.length; },
    visibleIds: visibleIds,
    select: select,
    domPosition: domPosition,
    setClass: function (cls, on) {
      var box = legend.querySelector('input[data-class="' + cls + '"]');
      if (box) { box.checked = !!on; }
      state.classes[cls] = !!on; applyFilters();
    },
    setDates: function (a, b) { from.value = a || ""; to.value = b || ""; onDates(); }
  };
})();
