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
  function update() {
    var c = count(area.value.replace(/\r\n/g, "\n"));
    out.textContent = area.getAttribute("data-segments-label") + ": " + c.parts + " · " + c.enc + " · " + c.units;
  }
  area.addEventListener("input", update);
  update();
})();
