// 转人工 Live chat (templates/admin/handover.html): server-sent events from /admin/handover-stream add the open
// conversation's new messages and redraw the queue, without a reload. Text goes in as text nodes only.
(function () {
  "use strict";
  var live = document.getElementById("handover-live");
  if (!live || !window.EventSource) return;
  var open = live.getAttribute("data-open");
  var pageUrl = live.getAttribute("data-page");
  var after = live.getAttribute("data-after") || "0";
  var log = document.getElementById("handover-log");
  var queue = document.querySelector("#handover-queue tbody");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function addLine(event) {
    if (!log || String(event.handover) !== open) return;
    if (log.querySelector('[data-event="' + event.id + '"]')) return;
    var who = event.kind === "resident" ? "居民 Resident" : event.author || "系统 System";
    var line = el("div", "transcript-line transcript-" + event.kind);
    line.setAttribute("data-event", String(event.id));
    line.appendChild(el("span", "help", who + " · " + event.at));
    line.appendChild(el("div", "pre", event.text));
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  function drawQueue(rows) {
    if (!queue) return;
    queue.textContent = "";
    if (!rows.length) {
      var empty = el("tr");
      var cell = el("td", "text-empty", "暂时没有 None right now");
      cell.colSpan = 2;
      empty.appendChild(cell);
      queue.appendChild(empty);
      return;
    }
    rows.forEach(function (row) {
      var tr = el("tr", String(row.id) === open ? "table-active" : "");
      tr.setAttribute("data-id", String(row.id));
      var state = el("td");
      state.appendChild(el("span", "badge text-white " + (row.state === "waiting" ? "bg-orange" : "bg-green"), row.state_label));
      if (row.position) state.appendChild(el("span", "help", " 第 " + row.position + " 位 #" + row.position));
      if (row.taken_by) state.appendChild(el("span", "help", " " + row.taken_by));
      state.appendChild(el("div", "help", row.since));
      var link = el("a", "btn btn-sm btn-primary mt-1", "打开 Open");
      link.href = pageUrl + "?id=" + row.id;
      state.appendChild(link);
      tr.appendChild(state);
      tr.appendChild(el("td", "", row.last));
      queue.appendChild(tr);
    });
  }

  function connect() {
    var source = new window.EventSource(live.getAttribute("data-stream") + "?after=" + encodeURIComponent(after));
    source.addEventListener("handover", function (message) {
      var event = JSON.parse(message.data);
      after = String(event.id);
      addLine(event);
      // The open conversation changed hands or ended: show what this staff member can do now.
      if (String(event.handover) === open && event.kind === "state") window.location.assign(pageUrl + "?id=" + open);
    });
    source.addEventListener("queue", function (message) {
      drawQueue(JSON.parse(message.data));
    });
    source.onerror = function () {
      // the browser reconnects by itself with Last-Event-ID; when the server ended the stream, do it with the cursor
      if (source.readyState === 2) setTimeout(connect, 2000);
    };
  }
  connect();
})();
