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
    if (response.ok) queue.innerHTML = await response.text();
  }

  async function refreshStatus() {
    if (!status) return;
    const response = await fetch("/fragment/status", { credentials: "same-origin" });
    if (response.ok) status.innerHTML = await response.text();
  }

  if (queue) {
    const events = new EventSource("/api/events");
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
      refreshQueue();
      return;
    }
    let detail = "HTTP " + response.status;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    if (outcome) outcome.textContent = detail;
  });
})();
