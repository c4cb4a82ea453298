// The print page's button: the browser's print dialog (no inline script: the page's CSP allows none).
(function () {
  "use strict";
  var button = document.getElementById("print-button");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
