// Live desk: a page polls /live/ for the stamp of what it shows (cheap: one or two small queries). When
// the stamp moves, the page fetches itself again and swaps its live regions ([data-live-region] with an
// id): the ticket's header, timeline, solutions and subtasks; the queue's tabs and rows; the inbox. A
// region the person is working in (focus inside, a field changed, a row ticked) is left alone and says it
// has news. On a ticket page the poll also says who else is there and who is typing, and warns the
// composer's author when someone else answered the customer meanwhile. A lost connection backs off and
// catches up on the next answer: regions are replaced whole, so nothing is ever shown twice.
(function () {
  "use strict";
  const body = document.body;
  const url = body.dataset.liveUrl;
  if (!url || !window.fetch) return;
  const ticket = body.dataset.liveTicket || "";
  const seenMessage = body.dataset.liveSeenMessage || "";
  let stamp = body.dataset.liveStamp || "";
  const every = ticket ? 3000 : (stamp ? 10000 : 20000); // a ticket page within 5 s, lists within 15 s
  const hiddenEvery = 30000;
  let failures = 0;
  let lastTyped = 0;
  let timer = null;
  let inFlight = false;

  document.addEventListener("input", function (event) {
    if (!event.target.closest || !event.target.closest("#composer")) return;
    const started = Date.now() - lastTyped >= 4000;
    lastTyped = Date.now();
    if (started && !inFlight) { clearTimeout(timer); poll(); } // the others see it now, not a poll later
  });

  function regionIsBusy(region) {
    const active = document.activeElement;
    if (active && active !== document.body && region.contains(active)) return true;
    return Array.from(region.querySelectorAll("input, textarea, select")).some(function (field) {
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.tagName === "SELECT") {
        const options = Array.from(field.options);
        if (field.multiple) return options.some(function (o) { return o.selected !== o.defaultSelected; });
        const initial = options.findIndex(function (o) { return o.defaultSelected; });
        return field.selectedIndex !== (initial === -1 ? 0 : initial); // none marked: the first is shown
      }
      if (field.type === "hidden" || field.type === "file") return false;
      return field.value !== field.defaultValue;
    });
  }

  async function refresh() {
    const address = body.dataset.livePage || window.location.href; // not a POST-only address after a refused save
    const response = await fetch(address, {credentials: "same-origin", headers: {"X-Live-Refresh": "1"}});
    if (!response.ok) throw new Error("refresh " + response.status);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live-region][id]").forEach(function (region) {
      const replacement = fresh.getElementById(region.id);
      if (!replacement) return;
      if (regionIsBusy(region)) {
        region.classList.add("live-stale");
        return;
      }
      const incoming = document.importNode(replacement, true);
      region.querySelectorAll("details[id]").forEach(function (folded) { // what the person unfolded stays so
        const twin = incoming.querySelector("#" + CSS.escape(folded.id));
        if (twin) twin.open = folded.open;
      });
      region.replaceWith(incoming);
      if (window.htmx) { // a folded form (fetched when opened) that the person had open comes again, fresh
        htmx.process(incoming);
        incoming.querySelectorAll("details[open][hx-get]").forEach(function (folded) { htmx.trigger(folded, "toggle"); });
      }
    });
    document.dispatchEvent(new CustomEvent("desk:live-refreshed"));
  }

  function showPresence(people) {
    const line = document.getElementById("presence");
    if (!line) return;
    line.hidden = people.length === 0;
    line.replaceChildren(line.dataset.label);
    people.forEach(function (person) {
      const item = document.createElement("span");
      item.className = person.typing ? "who typing" : "who";
      item.textContent = person.typing ? person.name + " · " + line.dataset.typing + "…" : person.name;
      line.append(" ", item);
    });
    line.dataset.count = String(people.length);
  }

  function warnComposer(names) {
    const warning = document.getElementById("composer-warning");
    const text = document.querySelector("#reply-form textarea");
    if (!warning || !text || !text.value.trim() || !names.length) return;
    warning.textContent = warning.dataset.text.replace("%(names)s", names.join(", "));
    warning.hidden = false;
    document.getElementById("reply-form").dataset.confirm = "1";
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.id !== "reply-form" || form.dataset.confirm !== "1") return;
    event.preventDefault(); // the first send after the warning only shows it; the second sends
    form.dataset.confirm = "";
    document.getElementById("composer-warning").focus && document.getElementById("composer-warning").focus();
  }, true);

  function showUnread(count) {
    const badge = document.getElementById("unread-count");
    if (!badge) return;
    badge.textContent = String(count);
    badge.hidden = !count;
  }

  async function poll() {
    inFlight = true;
    const form = new FormData();
    form.append("stamp", stamp);
    if (ticket) {
      form.append("ticket", ticket);
      form.append("seen_message", seenMessage);
      if (Date.now() - lastTyped < 4000) form.append("typing", "on");
    }
    try {
      const response = await fetch(url, {
        method: "POST", body: form, credentials: "same-origin", headers: {"X-CSRFToken": body.dataset.csrf},
      });
      if (!response.ok) throw new Error("live " + response.status);
      const answer = await response.json();
      showUnread(answer.unread);
      if (ticket) showPresence(answer.presence || []);
      if (answer.replied) warnComposer(answer.replied);
      if (stamp && answer.stamp !== stamp) await refresh();
      stamp = answer.stamp;
      failures = 0;
    } catch (error) {
      failures += 1;
    }
    inFlight = false;
    const offline = document.getElementById("live-offline");
    if (offline) offline.hidden = failures < 2;
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    const base = document.hidden ? hiddenEvery : every;
    timer = setTimeout(poll, failures ? Math.min(base * Math.pow(2, failures), 60000) : base);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { clearTimeout(timer); poll(); }
  });
  schedule();
  if (ticket) poll(); // announce presence at once
})();
