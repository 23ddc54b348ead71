// The report page: draws the charts from their inlined figures, and runs the lineage browser
// (a searchable list of sampled seeds; choosing one shows its evolution tree). Plain JS, no
// network: everything it reads is in the page's <script type="application/json"> blocks.
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function make(tag, className, text) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = String(text);
    return element;
  }

  // --- charts ----------------------------------------------------------------------------------

  function drawCharts() {
    var charts = readJson("evol-charts");
    if (!charts) return;
    charts.charts.forEach(function (chart) {
      var layout = Object.assign({}, chart.figure.layout, { template: charts.template });
      Plotly.newPlot(chart.id, chart.figure.data, layout, { responsive: true, displaylogo: false });
    });
  }

  // --- lineage browser -------------------------------------------------------------------------

  var STATUS_ORDER = { kept: 0, eliminated: 1, failed: 2 };

  function words(text) {
    var trimmed = (text || "").trim();
    return trimmed ? trimmed.split(/\s+/).length : 0;
  }

  function formatValue(value) {
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
    if (value === null || value === undefined) return "none";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function instructionElement(node) {
    var box = make("div", "instruction");
    if (node.instruction === null || node.instruction === undefined) {
      box.appendChild(make("em", "hint", "no instruction was written"));
      return box;
    }
    if (!node.diff) {
      box.textContent = node.instruction;
      return box;
    }
    node.diff.forEach(function (segment) {
      var tag = segment[0] === "+" ? "ins" : segment[0] === "-" ? "del" : "span";
      box.appendChild(make(tag, null, segment[1]));
    });
    return box;
  }

  function nodeElement(node) {
    var card = make("div", "node");
    card.dataset.status = node.status;
    card.dataset.nodeId = node.id;
    var head = make("div", "node-head");
    head.appendChild(make("span", "status", node.status));
    head.appendChild(make("span", "round", "round " + node.round));
    head.appendChild(make("span", "operation", node.operation));
    head.appendChild(make("code", "node-id", node.id));
    card.appendChild(head);
    if (node.elimination) {
      var why = make("div", "why elimination");
      why.appendChild(make("strong", null, "eliminated by " + node.elimination.filter + ": "));
      why.appendChild(document.createTextNode(node.elimination.reason));
      card.appendChild(why);
    }
    if (node.failure) {
      var failure = make("div", "why failure");
      failure.appendChild(make("strong", null, "failed at " + node.failure.stage + ": "));
      failure.appendChild(document.createTextNode(node.failure.error));
      card.appendChild(failure);
    }
    if (node.diff) card.appendChild(make("div", "hint", "change from the parent's instruction:"));
    card.appendChild(instructionElement(node));
    if (node.scores) {
      var scores = make("div", "scores");
      Object.keys(node.scores).sort().forEach(function (name) {
        scores.appendChild(make("span", null, name + " " + formatValue(node.scores[name])));
      });
      card.appendChild(scores);
    }
    if (node.response !== undefined && node.response !== null) {
      var response = make("details", "response");
      response.appendChild(make("summary", null, "response (" + words(node.response) + " words)"));
      response.appendChild(make("pre", null, node.response));
      card.appendChild(response);
    }
    if (node.checks) {
      var checks = make("details", "checks");
      checks.appendChild(make("summary", null, "checks: " + Object.keys(node.checks).sort().join(", ")));
      checks.appendChild(make("pre", null, JSON.stringify(node.checks, null, 2)));
      card.appendChild(checks);
    }
    return card;
  }

  function treeElement(lineage) {
    var ids = new Set(lineage.nodes.map(function (node) { return node.id; }));
    var children = new Map();
    var roots = [];
    lineage.nodes.forEach(function (node) {
      if (node.parent_id && ids.has(node.parent_id)) {
        if (!children.has(node.parent_id)) children.set(node.parent_id, []);
        children.get(node.parent_id).push(node);
      } else {
        roots.push(node);
      }
    });
    function byRound(a, b) {
      return a.round - b.round || STATUS_ORDER[a.status] - STATUS_ORDER[b.status];
    }
    function branch(nodes) {
      var list = make("ul");
      nodes.sort(byRound).forEach(function (node) {
        var item = make("li");
        item.appendChild(nodeElement(node));
        if (children.has(node.id)) item.appendChild(branch(children.get(node.id)));
        list.appendChild(item);
      });
      return list;
    }
    var tree = branch(roots);
    tree.className = "tree";
    return tree;
  }

  function startBrowser() {
    var data = readJson("evol-lineages");
    if (!data) return;
    var list = document.getElementById("seed-list");
    var search = document.getElementById("lineage-search");
    var onlyEliminated = document.getElementById("lineage-eliminated-only");
    var matches = document.getElementById("lineage-matches");
    var panel = document.getElementById("lineage-tree");
    var selected = null;

    var entries = data.lineages.map(function (lineage) {
      var haystack = [lineage.seed_id].concat(lineage.nodes.map(function (node) {
        return node.instruction || "";
      })).join("\n").toLowerCase();
      var button = make("button", "seed");
      button.type = "button";
      button.dataset.seedId = lineage.seed_id;
      button.appendChild(make("span", "seed-id", lineage.seed_id));
      // A space of its own: without it the text reads "seed-03 kept" (copied, searched, spoken).
      button.appendChild(document.createTextNode(" "));
      var counts = make("span", "counts");
      counts.appendChild(make("span", "kept", lineage.kept + " kept"));
      if (lineage.eliminated) counts.append(" ", make("span", "eliminated", lineage.eliminated + " eliminated"));
      if (lineage.failed) counts.append(" ", make("span", "failed", lineage.failed + " failed"));
      button.appendChild(counts);
      button.appendChild(make("span", "seed-text", lineage.instruction));
      button.addEventListener("click", function () { show(lineage, button); });
      var item = make("li");
      item.appendChild(button);
      list.appendChild(item);
      return { lineage: lineage, item: item, haystack: haystack };
    });

    function show(lineage, button) {
      if (selected) selected.classList.remove("selected");
      selected = button;
      button.classList.add("selected");
      panel.textContent = "";
      panel.appendChild(make("h3", null, "Seed " + lineage.seed_id));
      panel.appendChild(make("p", "hint",
        lineage.kept + " kept, " + lineage.eliminated + " eliminated, " + lineage.failed +
        " failed; each candidate under the sample it was evolved from, round by round."));
      panel.appendChild(treeElement(lineage));
    }

    function filter() {
      var query = search.value.trim().toLowerCase();
      var shown = 0;
      entries.forEach(function (entry) {
        var visible = (!query || entry.haystack.indexOf(query) !== -1) &&
          (!onlyEliminated.checked || entry.lineage.eliminated > 0);
        entry.item.hidden = !visible;
        if (visible) shown += 1;
      });
      matches.textContent = shown + " of " + entries.length + " lineages";
    }

    search.addEventListener("input", filter);
    onlyEliminated.addEventListener("change", filter);
    filter();
  }

  drawCharts();
  startBrowser();
})();
