// The live wallboard: one Server-Sent Events stream of snapshots; every value is set as text, never as HTML.
(function () {
  var root = document.getElementById("wallboard");
  if (!root) return;
  var labels = JSON.parse(root.getAttribute("data-labels") || "{}");
  function t(key, fallback) { return labels[key] || (fallback !== undefined ? fallback : key); }
  function set(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
  function fmt(v, digits) { return v === null || v === undefined ? "—" : Number(v).toFixed(digits); }
  function clock(s) { var m = Math.floor(s / 60); return m + ":" + String(s % 60).padStart(2, "0"); }
  function cell(tr, text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; }
  var canMonitor = document.getElementById("calls").getAttribute("data-monitor") === "1";
  function monitor(call, mode) {
    var ext = document.getElementById("monitor-ext");
    if (!ext.value) { ext.focus(); ext.reportValidity(); return; }
    document.getElementById("monitor-call").value = call;
    document.getElementById("monitor-mode").value = mode;
    document.getElementById("monitor-form").submit();
  }
  function render(s) {
    set("wb-at", s.clock); // the centre's time (Asia/Tashkent, 24-hour), whatever the browser's zone
    set("ivr-uz", s.inIVR.uz || 0); set("ivr-ru", s.inIVR.ru || 0); set("ivr-total", (s.inIVR.uz || 0) + (s.inIVR.ru || 0) + (s.inIVR[""] || 0));
    set("wait-uz", s.waiting.uz || 0); set("wait-ru", s.waiting.ru || 0); set("wait-total", (s.waiting.uz || 0) + (s.waiting.ru || 0));
    set("longest", clock(s.longestWait));
    set("sl", fmt(s.today.serviceLevel, 1)); set("ab", fmt(s.today.abandonment, 1)); set("sl-target", fmt(s.target, 0));
    // Service level against its target: green when met, red when not (grey before any call).
    var tile = document.getElementById("sl-tile");
    tile.classList.toggle("good", s.today.serviceLevel !== null && s.today.serviceLevel !== undefined && s.today.serviceLevel >= s.target);
    tile.classList.toggle("bad", s.today.serviceLevel !== null && s.today.serviceLevel !== undefined && s.today.serviceLevel < s.target);
    set("asa", s.today.asa === null || s.today.asa === undefined ? "—" : clock(Math.round(s.today.asa)));
    set("aht", s.today.aht === null || s.today.aht === undefined ? "—" : clock(Math.round(s.today.aht)));
    set("received", s.today.received); set("answered", s.today.answered);
    var states = Object.keys(s.agentsByState).sort().map(function (k) { return t("state_" + k) + ": " + s.agentsByState[k]; });
    set("by-state", states.join(" · "));
    var alerts = document.getElementById("alerts"); alerts.textContent = "";
    s.alerts.forEach(function (a) { var li = document.createElement("li"); li.className = "alert"; // Figures of the alerts the wallboard computes; other alerts' messages are the server's log words and stay in the log.
      var figure = a.kind === "no_operator_ready" || a.kind === "service_level_low" ? " " + a.message : "";
      li.textContent = (a.at ? a.at + " " : "") + t("alert_" + a.kind, "—") + figure; alerts.appendChild(li); });
    // Operators as compact cards, many to a row, so a whole shift fits the screen.
    var agents = document.getElementById("agents"); agents.textContent = "";
    s.agents.forEach(function (a) {
      var card = document.createElement("div"); card.className = "agent state-" + a.state;
      var head = document.createElement("strong"); head.textContent = a.ext + " " + a.name; card.appendChild(head);
      var line = document.createElement("span");
      line.textContent = t("state_" + a.state) + (a.reason ? " (" + t("reason_" + a.reason, "—") + ")" : "") + " · " + clock(a.seconds);
      card.appendChild(line); agents.appendChild(card);
    });
    var calls = document.getElementById("calls"); calls.textContent = "";
    s.calls.forEach(function (c) {
      var tr = document.createElement("tr"); tr.setAttribute("data-call", c.id);
      cell(tr, c.number); cell(tr, c.language ? t("lang_" + c.language, "—") : "—"); cell(tr, t("phase_" + c.phase)); cell(tr, clock(c.seconds)); cell(tr, c.operatorName || "");
      var actions = cell(tr, "");
      if (canMonitor && c.phase === "talking") {
        ["listen", "whisper", "barge"].forEach(function (mode) {
          var b = document.createElement("button"); b.type = "button"; b.className = "monitor-" + mode; b.textContent = t("monitor_" + mode);
          b.addEventListener("click", function () { monitor(c.id, mode); }); actions.appendChild(b);
        });
      }
      calls.appendChild(tr);
    });
  }
  var source = new EventSource("/wallboard/events");
  source.addEventListener("state", function (e) { render(JSON.parse(e.data)); });
})();
