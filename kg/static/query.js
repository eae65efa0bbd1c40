/* kg serve's query page: YASGUI on this server's /sparql, with the example queries of queries/*.rq.
 * Everything comes from this server (no CDN, no prefix or vocabulary look-ups elsewhere). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("kg-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href).toString();

  // The server pre-binds its prefixes (dip:, rdfs:, …), so the editor knows them too: YASQE's SPARQL
  // mode, with its table of declared prefixes starting from them, so that a query that uses dip:
  // without a PREFIX line is not marked "Prefix 'dip' is not defined".
  var Yasqe = Yasgui.Yasqe;
  Yasqe.defineMode("kg-sparql11", function (cmConfig) {
    var base = Yasqe.getMode(cmConfig, "sparql11");
    var mode = Object.create(base);
    mode.startState = function () {
      var state = base.startState.apply(base, arguments);
      Object.keys(config.prefixes).forEach(function (p) { state.prefixes[p] = config.prefixes[p]; });
      return state;
    };
    return mode;
  });

  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: {
      getData: function () { return [{ endpoint: endpoint }]; },
      keys: [],
    },
    // "prefixes" completes from YASQE's built-in list; "property"/"class" would ask a remote service
    yasqe: { value: config.defaultQuery, autocompleters: ["prefixes", "variables"], mode: "kg-sparql11" },
    yasr: { prefixes: config.prefixes, defaultPlugin: "table" },
    persistenceId: "kg-serve",
  });
  // a tab restored from an earlier visit may point elsewhere: this page queries its own server
  yasgui.getTab().setEndpoint(endpoint);

  var select = document.getElementById("kg-examples");
  config.examples.forEach(function (ex, i) {
    var opt = document.createElement("option");
    opt.value = String(i);
    opt.textContent = ex.name + " — " + ex.title;
    select.appendChild(opt);
  });
  if (!config.examples.length) { select.disabled = true; }
  select.addEventListener("change", function () {
    var ex = config.examples[Number(select.value)];
    if (!ex) { return; }
    var tab = yasgui.addTab(true, { name: ex.name, yasqe: { value: ex.query } }, { avoidDuplicateTabs: true });
    tab.setEndpoint(endpoint);
    select.value = "";
  });
  window.kgYasgui = yasgui;  // for scripting the page (and its browser test)
})();
