// Live SMS segment count for the editor: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67), as the server counts.
(function () {
  var basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var extended = "^{}\\[~]|€\f";
  function count(text) {
    var units = 0, gsm = true;
    for (var ch of text) {
      if (basic.indexOf(ch) >= 0) units += 1; else if (extended.indexOf(ch) >= 0) units += 2; else { gsm = false; break; }
    }
    if (gsm) return { enc: "GSM-7", units: units, parts: units <= 160 ? 1 : Math.ceil(units / 153) };
    units = text.length; // UTF-16 code units, as UCS-2 counts them
    return { enc: "UCS-2", units: units, parts: units <= 70 ? 1 : Math.ceil(units / 67) };
  }
  var area = document.getElementById("sms-text"), out = document.getElementById("sms-count");
  if (!area || !out) return;
  // Typographic quotes and the Uzbek ʻ (U+2018, U+02BB…) are not GSM-7: one of them halves what fits in a part.
  // The editor is told, and offered the plain ' and " instead.
  var curly = /[\u2018\u2019\u201A\u201B\u02BB\u02BC\u0060\u00B4\u201C\u201D\u201E]/g;
  var warning = document.getElementById("sms-quote-warning"), fix = document.getElementById("sms-quote-fix");
  function plain(text) { return text.replace(curly, function (q) { return "\u201C\u201D\u201E".indexOf(q) >= 0 ? '"' : "'"; }); }
  function update() {
    var c = count(area.value.replace(/\r\n/g, "\n"));
    out.textContent = area.getAttribute("data-segments-label") + ": " + c.parts + " · " + c.enc + " · " + c.units;
    if (warning) warning.hidden = !(c.enc === "UCS-2" && plain(area.value) !== area.value && count(plain(area.value)).enc === "GSM-7");
  }
  if (fix) fix.addEventListener("click", function () { area.value = plain(area.value); update(); area.focus(); });
  area.addEventListener("input", update);
  update();
})();
