/* The town page's own behaviour: service buttons ask the assistant; the page's elder-mode switch. */
(function () {
  "use strict";
  var KEY = "zhitang-town:elder";

  function widget() {
    return window.ZhitangWidget;
  }

  function setPageElder(on) {
    document.documentElement.classList.toggle("elder", on);
    var link = document.getElementById("elder-link");
    if (link) {
      link.setAttribute("aria-pressed", on ? "true" : "false");
      link.textContent = on ? "标准模式" : "长辈模式";
    }
    try {
      window.localStorage.setItem(KEY, on ? "1" : "0");
    } catch (e) {
      /* not kept */
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var stored = false;
    try {
      stored = window.localStorage.getItem(KEY) === "1";
    } catch (e) {
      stored = false;
    }
    setPageElder(stored);

    Array.prototype.forEach.call(document.querySelectorAll("[data-ask]"), function (button) {
      button.addEventListener("click", function () {
        if (widget()) widget().ask(button.getAttribute("data-ask"));
      });
    });
    var open = document.getElementById("open-assistant");
    if (open) {
      open.addEventListener("click", function () {
        if (widget()) widget().open();
      });
    }
    var elder = document.getElementById("elder-link");
    if (elder) {
      elder.addEventListener("click", function () {
        var on = !document.documentElement.classList.contains("elder");
        setPageElder(on);
        if (widget()) widget().setElder(on);
      });
    }
  });
})();
