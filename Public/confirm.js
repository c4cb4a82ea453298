// Actions that cannot be undone ask first: a form or its button with data-confirm="question".
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter, form = event.target;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
})();
