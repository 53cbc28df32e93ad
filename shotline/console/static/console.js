// shotline review console: live queue (Server-Sent Events), decisions without reloads,
// the status panel refreshed. Vanilla JS, no dependency, served by the console itself.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const queue = document.getElementById("queue");
  const status = document.getElementById("status");

  async function refreshQueue() {
    if (!queue) return;
    const response = await fetch("/fragment/queue" + window.location.search, {
      credentials: "same-origin",
    });
    if (response.status === 401) { window.location.assign("/login"); return; }
    if (response.ok) merge(await response.text());
  }

  // Put the fresh list in place, keeping the items already shown as they are (a note being
  // typed stays), removing the decided ones and adding the new ones in order.
  function merge(text) {
    const fresh = document.createElement("template");
    fresh.innerHTML = text;
    const list = document.getElementById("items");
    const freshList = fresh.content.getElementById("items");
    if (!list || !freshList) { queue.innerHTML = text; return; }
    const shown = new Map([...list.children].map((li) => [li.dataset.requestId, li]));
    const nodes = [...freshList.children].map((li) => shown.get(li.dataset.requestId) || li);
    list.replaceChildren(...nodes);
    for (const id of ["count", "empty"]) {
      const old = document.getElementById(id);
      const replacement = fresh.content.getElementById(id);
      if (old && replacement) old.replaceWith(replacement);
    }
  }

  async function refreshStatus() {
    if (!status) return;
    const response = await fetch("/fragment/status", { credentials: "same-origin" });
    if (response.ok) status.innerHTML = await response.text();
  }

  if (queue) {
    const since = encodeURIComponent(queue.dataset.version || "-1");
    const events = new EventSource("/api/events?since=" + since);
    events.addEventListener("changed", () => { refreshQueue(); });
    // a safety net should the event stream be cut by a proxy
    window.setInterval(refreshQueue, 15000);
    window.setInterval(refreshStatus, 5000);
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("decide")) return;
    event.preventDefault();
    const button = event.submitter;
    const outcome = form.querySelector(".outcome");
    const body = {
      request_id: form.elements.request_id.value,
      action: button ? button.value : "",
      note: form.elements.note.value,
    };
    const response = await fetch("/api/decisions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf,
                 "Accept": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.ok) {
      const item = form.closest("li.item");
      if (item) item.remove();
      refreshQueue();  // the count, and the "nothing to review" line
      return;
    }
    let detail = "HTTP " + response.status;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    if (outcome) outcome.textContent = detail;
  });
})();
