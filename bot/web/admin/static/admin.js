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

  // Attaching a question: choosing "another entry" replaces the suggested one.
  var other = document.getElementById("other-entry");
  if (other) {
    other.addEventListener("change", function () {
      document.querySelectorAll('input[name="entry_id"]').forEach(function (radio) {
        radio.checked = false;
      });
      other.name = other.value ? "entry_id" : "";
    });
  }
})();
