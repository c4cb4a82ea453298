// The public appeal form: subtopics follow the chosen topic, and after a refused submission the first field with
// an error has the focus (a screen reader reads its message, named by aria-describedby). No framework.
(function () {
  "use strict";
  var form = document.getElementById("public-form");
  if (!form) return;
  var topic = document.getElementById("f-topic"), subtopic = document.getElementById("f-subtopic");
  function filter() {
    Array.prototype.forEach.call(subtopic.options, function (option) {
      var parent = option.getAttribute("data-parent");
      var hide = !!parent && parent !== topic.value;
      option.hidden = hide;
      option.disabled = hide;
      if (hide && option.selected) subtopic.value = "";
    });
  }
  topic.addEventListener("change", filter);
  filter();
  var invalid = form.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();
})();
