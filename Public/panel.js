// The operator's panel: live state and caller card over Server-Sent Events, the appeal card saved
// without leaving the page, knowledge-base search as the operator types. No framework.
(function () {
  "use strict";
  var panel = document.querySelector(".panel");
  if (!panel) return;
  var csrf = panel.getAttribute("data-csrf");
  var $ = function (id) { return document.getElementById(id); };

  function showState(data) {
    var el = $("agent-state");
    el.textContent = data.label;
    el.setAttribute("data-state", data.state);
  }

  // The call the caller card shows, and whether it was only offered (ringing) or answered.
  var shown = null;

  function showCall(card) {
    shown = { callId: card.callId, phase: card.phase };
    $("caller-card").hidden = false;
    $("caller-card").classList.remove("ended");
    $("no-call").hidden = true;
    $("caller-number").textContent = card.number;
    $("caller-language").textContent = card.language;
    $("caller-topic").textContent = card.topic || "—";
    $("caller-repeated").hidden = !card.repeated;
    var list = $("caller-earlier");
    list.textContent = "";
    card.earlier.forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line;
      list.appendChild(li);
    });
    $("card-call-id").value = card.callId;
    if (!$("card-phone").value) $("card-phone").value = card.number;
  }

  if (window.EventSource) {
    var source = new EventSource("/panel/events");
    source.addEventListener("state", function (e) { showState(JSON.parse(e.data)); });
    source.addEventListener("call", function (e) { showCall(JSON.parse(e.data)); });
    source.addEventListener("ended", function () { $("caller-card").classList.add("ended"); });
    // The phone is offline on Asterisk: calls are not offered, and the panel says why.
    source.addEventListener("phone", function (e) {
      var data = JSON.parse(e.data);
      var note = $("phone-offline");
      if (!note) return;
      if (data.label) note.textContent = data.label;
      note.hidden = data.reachable === "yes";
    });
    // An offer that ended without an answer (rang out, refused, the caller hung up): the card of that caller goes.
    source.addEventListener("unoffered", function (e) {
      var data = JSON.parse(e.data);
      if (shown && shown.callId === data.callId && shown.phase === "offered") {
        $("caller-card").hidden = true;
        $("no-call").hidden = false;
        shown = null;
      }
    });
  }

  var form = $("appeal-card");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = new URLSearchParams(new FormData(form));
    document.querySelectorAll(".field-error").forEach(function (el) { el.textContent = ""; });
    fetch("/panel/appeal", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (response) { return response.json(); }).then(function (result) {
      var message = $("card-message");
      if (result.ok) {
        message.textContent = result.message + ": " + result.number;
        message.className = "ok";
        form.reset();
        $("card-call-id").value = "";
      } else {
        message.textContent = result.message || result.error || "";
        message.className = "error";
        Object.keys(result.errors || {}).forEach(function (field) {
          var el = form.querySelector('.field-error[data-for="' + field + '"]');
          if (el) el.textContent = result.errors[field];
        });
      }
    });
  });

  // Subtopics follow the chosen topic.
  var topic = $("card-topic"), subtopic = $("card-subtopic");
  topic.addEventListener("change", function () {
    Array.prototype.forEach.call(subtopic.options, function (option) {
      var parent = option.getAttribute("data-parent");
      option.hidden = !!parent && !!topic.value && parent !== topic.value;
    });
    subtopic.value = "";
    search();
  });

  var timer = null;
  function search() {
    var q = $("kb-search").value;
    var url = "/kb/search?q=" + encodeURIComponent(q) + "&topic=" + encodeURIComponent(topic.value || "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (articles) {
        var list = $("kb-results");
        list.textContent = "";
        articles.forEach(function (a) {
          var li = document.createElement("li");
          var title = document.createElement("strong");
          title.textContent = a.title;
          var body = document.createElement("p");
          body.textContent = a.body;
          li.appendChild(title);
          li.appendChild(body);
          list.appendChild(li);
        });
      });
  }
  $("kb-search").addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
})();
