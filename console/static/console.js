// Drawbridge console: live approvals, countdowns, copy buttons. Served from
// the console itself; the page's CSP allows no inline script.
"use strict";

(function () {
  const baseTitle = document.title;

  function setBadge(n) {
    const badge = document.getElementById("badge");
    if (badge) {
      badge.textContent = String(n);
      badge.hidden = n === 0;
    }
    document.title = (n > 0 ? "(" + n + ") " : "") + baseTitle;
  }

  function beep() {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.05;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio: the title badge still shows */ }
  }

  function countdowns() {
    for (const el of document.querySelectorAll(".countdown[data-deadline]")) {
      const left = Math.max(0, Math.round((Number(el.dataset.deadline) - Date.now()) / 1000));
      el.textContent = left + "s";
      el.classList.toggle("expired", left === 0);
    }
  }

  // The pending list: fetched again whenever the server says it changed,
  // and merged by approval id, so a form being filled in is left alone.
  let known = null;
  async function refresh() {
    const resp = await fetch("/approvals/list", { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!resp.ok) return;
    const n = Number(resp.headers.get("X-Pending-Count") || "0");
    const fresh = document.createElement("template");
    fresh.innerHTML = await resp.text();
    const list = document.getElementById("pending");
    if (list) {
      const wanted = new Map();
      for (const a of fresh.content.querySelectorAll("article.approval")) wanted.set(a.id, a);
      for (const a of list.querySelectorAll("article.approval")) {
        if (!wanted.has(a.id)) a.remove();
        else wanted.delete(a.id);
      }
      for (const a of wanted.values()) list.appendChild(a);
      const none = list.querySelector("#none-pending");
      if (none) none.hidden = n > 0;
      else if (n === 0) {
        const p = fresh.content.querySelector("#none-pending");
        if (p) list.prepend(p);
      }
      list.dataset.count = String(n);
    }
    if (known !== null && n > known) beep();
    known = n;
    setBadge(n);
    countdowns();
  }

  function live() {
    if (!window.EventSource) return;
    const es = new EventSource("/approvals/events");
    es.addEventListener("change", refresh);
    es.addEventListener("open", refresh); // catch up after a reconnect
  }

  function copyButtons() {
    for (const btn of document.querySelectorAll("button.copy[data-copy]")) {
      btn.addEventListener("click", async function () {
        const el = document.getElementById(btn.dataset.copy);
        if (!el) return;
        try {
          await navigator.clipboard.writeText(el.textContent);
          btn.textContent = "Copied";
        } catch (e) {
          const range = document.createRange();
          range.selectNodeContents(el);
          const sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          btn.textContent = "Selected: press Ctrl+C";
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    copyButtons();
    if (!document.getElementById("badge")) return; // logged out
    const list = document.getElementById("pending");
    if (list) known = Number(list.dataset.count || "0");
    live();
    countdowns();
    setInterval(countdowns, 1000);
  });
})();
