/* Keyboard shortcuts for agents (the help overlay, ?, lists them: templates/partials/_shortcuts.html).
   No key fires while the person types in a field, nor with Ctrl, Alt or Meta held. */
(function () {
  "use strict";
  var help = document.getElementById("shortcuts-help");
  if (!help) return;
  var STORE = "desk.queue.tickets";  // the queue last seen: its tickets' addresses, in order
  var rows = [];
  var current = -1;
  var opener = null;

  // The queue's rows, read again at each key (a live update may have replaced them), and remembered for the
  // ticket page's j/k.
  function readRows() {
    var found = Array.prototype.slice.call(document.querySelectorAll("#ticket-table tbody tr"))
      .filter(function (row) { return row.querySelector("a[href]"); });
    if (found.length && (found.length !== rows.length || found.some(function (row, i) { return row !== rows[i]; }))) {
      var was = current >= 0 && rows[current] ? rows[current].querySelector("a[href]").getAttribute("href") : null;
      current = -1;
      found.forEach(function (row, i) { if (row.querySelector("a[href]").getAttribute("href") === was) current = i; });
      try {
        sessionStorage.setItem(STORE, JSON.stringify({
          queue: location.pathname + location.search,
          tickets: found.map(function (row) { return row.querySelector("a[href]").getAttribute("href"); })
        }));
      } catch (e) { /* private mode: the ticket page falls back to my open tickets */ }
    }
    rows = found;
    return rows;
  }
  readRows();

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function highlight(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("kbd-current", i === current); });
    rows[current].scrollIntoView({ block: "nearest" });
    rows[current].querySelector("a[href]").focus();
  }

  function ticketStep(step) {
    var stored = null;
    try { stored = JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch (e) { stored = null; }
    var here = location.pathname;
    var list = stored && stored.tickets || [];
    var at = list.indexOf(here);
    if (at === -1) {  // not opened from a queue this tab remembers: my open tickets
      location.href = help.dataset.mine;
      return;
    }
    var next = list[at + step];
    location.href = next || stored.queue;
  }

  function focusReply(kind) {
    var body = document.getElementById("id_body");
    if (!body) return false;
    var direction = document.getElementById("id_direction");
    if (direction && direction.querySelector('option[value="' + kind + '"]')) direction.value = kind;
    body.scrollIntoView({ block: "center" });
    body.focus();
    return true;
  }

  function openHelp() {
    if (help.open) return;
    opener = document.activeElement;
    help.showModal();
    var close = help.querySelector("[data-close]");
    if (close) close.focus();
  }

  help.addEventListener("close", function () {
    if (opener && opener.focus) opener.focus();
    opener = null;
  });
  help.querySelectorAll("[data-close]").forEach(function (button) {
    button.addEventListener("click", function () { help.close(); });
  });

  if (location.hash === "#search") {
    var search = document.querySelector('#filters input[name="q"]');
    if (search) search.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typing(event.target) || help.open) return;
    var key = event.key;
    var handled = true;
    readRows();
    if (key === "?") {
      openHelp();
    } else if (event.shiftKey) {
      handled = false;
    } else if (key === "j" || key === "k") {
      if (rows.length) highlight(current + (key === "j" ? 1 : -1));
      else if (document.getElementById("composer") || document.getElementById("ticket-status")) ticketStep(key === "j" ? 1 : -1);
      else handled = false;
    } else if (key === "Enter" && current >= 0 && rows[current] && document.activeElement !== rows[current].querySelector("a[href]")) {
      location.href = rows[current].querySelector("a[href]").getAttribute("href");
    } else if (key === "r") {
      handled = focusReply("outbound");
    } else if (key === "n") {
      handled = focusReply("note");
    } else if (key === "a") {
      var take = document.getElementById("take");
      if (take) take.click(); else handled = false;
    } else if (key === "s") {
      var move = document.querySelector("#actions .action-form button");
      if (move) { move.scrollIntoView({ block: "center" }); move.focus(); } else handled = false;
    } else if (key === "/") {
      var box = document.querySelector('#filters input[name="q"]');
      if (box) box.focus(); else location.href = help.dataset.search;
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
