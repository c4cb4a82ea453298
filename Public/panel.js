// The operator's panel: live state and caller card over Server-Sent Events, the appeal card saved
// without leaving the page, knowledge-base search as the operator types. No framework.
//
// The appeal card belongs to one call: it is bound when a call is answered, and stays bound to that call
// until it is saved or cleared, whatever is offered or answered meanwhile (a new call shows in the caller
// card above, with a note on the appeal card). Nothing typed is ever lost to a new call or a failed request.
(function () {
  "use strict";
  var panel = document.querySelector(".panel");
  if (!panel) return;
  var csrf = panel.getAttribute("data-csrf");
  var $ = function (id) { return document.getElementById(id); };
  var form = $("appeal-card");

  // Wrap-up counts down on screen; the call flow ends it by itself.
  var countdown = null;
  function showCountdown(state) {
    var el = $("wrap-countdown");
    clearInterval(countdown);
    el.hidden = state !== "wrap_up";
    if (state !== "wrap_up") return;
    var left = parseInt(el.getAttribute("data-seconds"), 10) || 0;
    var draw = function () {
      el.textContent = el.getAttribute("data-label") + ": " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left > 0) left -= 1;
    };
    draw();
    countdown = setInterval(draw, 1000);
  }

  function showState(data) {
    var el = $("agent-state");
    el.textContent = data.label;
    el.setAttribute("data-state", data.state);
    $("agent-reason").textContent = data.reason ? "(" + data.reason + ")" : "";
    showCountdown(data.state);
    // Ready and pause are refused during ringing and a conversation: the buttons say so.
    var busy = data.state === "ringing" || data.state === "on_call";
    $("set-ready").disabled = busy || data.state === "ready";
    $("set-pause").disabled = busy;
    if (!busy && $("state-message").className === "error") { $("state-message").textContent = ""; $("state-message").className = ""; }
  }

  // The call the caller card shows, and whether it was only offered (ringing) or answered.
  var shown = null;
  // The call the appeal card is for, and whether anything was typed into the card since.
  var bound = null;
  var dirty = false;

  function showCall(card) {
    shown = { callId: card.callId, phase: card.phase, card: card };
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
    // Only an answered call takes the appeal card, and only a card nobody has started on.
    if (card.phase !== "answered" || (bound && bound.callId === card.callId)) return;
    if (!bound || !dirty) bindCard(card);
    else showOther(card);
  }

  function showOther(card) {
    var note = $("card-other");
    if (!card) { note.hidden = true; return; }
    note.textContent = note.getAttribute("data-label").replace("{number}", card.number);
    note.hidden = false;
  }

  function setIfOption(select, value) {
    if (!value) return;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) { select.value = value; return; }
    }
  }

  function bindCard(card) {
    var previous = bound;
    bound = { callId: card.callId, number: card.number };
    $("card-call-id").value = card.callId;
    var phone = $("card-phone");
    if (!phone.value || (previous && phone.value === previous.number)) phone.value = card.number;
    // What the caller chose in the IVR, as a start.
    setIfOption($("card-language"), card.languageCode);
    if (card.topicCode) {
      var parent = card.topicCode.split(".")[0];
      setIfOption($("card-topic"), parent);
      filterSubtopics();
      if (parent !== card.topicCode) setIfOption($("card-subtopic"), card.topicCode);
    }
    var note = $("card-bound");
    note.textContent = note.getAttribute("data-label") + ": " + card.number;
    note.hidden = false;
    showOther(null);
    dirty = false;
  }

  // After a save or a clear: the card is free, and goes to the call being talked to now, if any.
  function releaseCard() {
    form.reset();
    bound = null;
    dirty = false;
    $("card-call-id").value = "";
    $("card-bound").hidden = true;
    showOther(null);
    filterSubtopics();
    if (shown && shown.phase === "answered" && !$("caller-card").classList.contains("ended")) bindCard(shown.card);
  }

  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });

  if (window.EventSource) {
    var source = new EventSource("/panel/events");
    source.addEventListener("state", function (e) { showState(JSON.parse(e.data)); });
    source.addEventListener("call", function (e) { showCall(JSON.parse(e.data)); });
    source.addEventListener("ended", function (e) {
      var data = JSON.parse(e.data);
      if (!shown || shown.callId === data.callId) $("caller-card").classList.add("ended");
    });
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

  function showMessage(el, text, ok) {
    el.textContent = text;
    el.className = ok ? "ok" : "error";
  }

  // Ready and pause answer in the panel: the card and whatever was typed stay.
  ["ready-form", "pause-form"].forEach(function (id) {
    var stateForm = $(id);
    stateForm.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(stateForm.action, {
        method: "POST", body: new URLSearchParams(new FormData(stateForm)), credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
      }).then(function (response) { return response.json(); }).then(function (result) {
        if (result.ok) {
          showState(result);
          $("state-message").textContent = "";
          $("state-message").className = "";
        } else {
          showMessage($("state-message"), result.message || result.error || "", false);
        }
      }).catch(function () { showMessage($("state-message"), panel.getAttribute("data-network-error"), false); });
    });
  });

  var saving = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (saving) return; // one request at a time; the one-time key makes a repeat harmless anyway
    saving = true;
    $("save-appeal").disabled = true;
    var body = new URLSearchParams(new FormData(form));
    document.querySelectorAll(".field-error").forEach(function (el) { el.textContent = ""; });
    fetch("/panel/appeal", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (response) { return response.json(); }).then(function (result) {
      var message = $("card-message");
      if (result.ok) {
        showMessage(message, result.message + ": " + result.number, true);
        releaseCard();
        if (result.once) $("card-once").value = result.once;
      } else {
        showMessage(message, result.message || result.error || "", false);
        Object.keys(result.errors || {}).forEach(function (field) {
          var el = form.querySelector('.field-error[data-for="' + field + '"]');
          if (el) el.textContent = result.errors[field];
        });
      }
    }).catch(function () {
      showMessage($("card-message"), panel.getAttribute("data-network-error"), false);
    }).then(function () {
      saving = false;
      $("save-appeal").disabled = false;
    });
  });

  $("card-clear").addEventListener("click", function () {
    if (dirty && !window.confirm(panel.getAttribute("data-clear-confirm"))) return;
    $("card-message").textContent = "";
    releaseCard();
  });

  // Subtopics follow the chosen topic.
  var topic = $("card-topic"), subtopic = $("card-subtopic");
  function filterSubtopics() {
    Array.prototype.forEach.call(subtopic.options, function (option) {
      var parent = option.getAttribute("data-parent");
      option.hidden = !!parent && !!topic.value && parent !== topic.value;
    });
  }
  topic.addEventListener("change", function () {
    filterSubtopics();
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
        if (!articles.length) {
          var none = document.createElement("li");
          none.className = "muted";
          none.textContent = panel.getAttribute("data-nothing-found");
          list.appendChild(none);
        }
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
