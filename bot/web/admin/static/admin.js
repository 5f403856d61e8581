// The staff admin's own script (no inline scripts: the gateway's Content-Security-Policy forbids them).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.content : "";

  // Every POST carries the session's CSRF token: forms get a hidden field, jQuery requests a header.
  document.querySelectorAll('form[method="POST"], form[method="post"]').forEach(function (form) {
    if (!form.querySelector('input[name="csrf_token"]')) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "csrf_token";
      input.value = token;
      form.appendChild(input);
    }
  });
  if (window.jQuery) {
    window.jQuery.ajaxSetup({ headers: { "X-CSRF-Token": token } });
  }

  // Saved / refused messages (SQLAdmin's flash toasts).
  if (window.tabler && window.tabler.bootstrap) {
    document.querySelectorAll(".toast").forEach(function (element) {
      new window.tabler.bootstrap.Toast(element, { delay: 5000 }).show();
    });
  }

  // The unanswered queue: "select this page" ticks every group; the bulk button says how many are ticked.
  var boxes = document.querySelectorAll(".group-box");
  var all = document.getElementById("select-all-groups");
  var bulk = document.getElementById("bulk-dismiss");
  var bulkCount = document.getElementById("bulk-count");
  function countTicked() {
    var ticked = document.querySelectorAll(".group-box:checked").length;
    if (bulk) bulk.disabled = ticked === 0;
    if (bulkCount) bulkCount.textContent = ticked ? "已选 " + ticked + " 组 / " + ticked + " ticked" : "";
    if (all) all.checked = ticked > 0 && ticked === boxes.length;
  }
  boxes.forEach(function (box) {
    box.addEventListener("change", countTicked);
  });
  if (all) {
    all.addEventListener("change", function () {
      boxes.forEach(function (box) {
        box.checked = all.checked;
      });
      countTicked();
    });
  }
  countTicked();

  // Writing an answer: only the chosen way's fields show (both post; the server reads the chosen one).
  var modes = document.querySelectorAll(".answer-mode");
  function showMode() {
    var chosen = document.querySelector(".answer-mode:checked");
    document.querySelectorAll(".answer-section").forEach(function (section) {
      section.hidden = !!chosen && section.getAttribute("data-mode") !== chosen.value;
    });
  }
  modes.forEach(function (radio) {
    radio.addEventListener("change", showMode);
  });
  if (modes.length) showMode();

  // Attaching a question: choosing "another entry" replaces the suggested one.
  var other = document.getElementById("other-entry");
  if (other) {
    other.addEventListener("change", function () {
      document.querySelectorAll('input[name="entry_id"]').forEach(function (radio) {
        radio.checked = false;
      });
      other.name = other.value ? "entry_id" : "";
    });
    document.querySelectorAll('input[name="entry_id"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        other.value = "";
        other.name = "";
      });
    });
  }
})();
