// FirstCall pages: token handling, API calls, live updates over a websocket.
"use strict";
const FC = (() => {
  const KEY = "firstcall.token";
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    localStorage.setItem(KEY, hash.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = () => localStorage.getItem(KEY) || "";

  async function api(path, opts = {}) {
    const headers = { "Authorization": "Bearer " + token() };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method: opts.method || "GET", headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const type = res.headers.get("content-type") || "";
    const data = type.includes("json") ? await res.json() : await res.text();
    if (res.status === 401) { showLogin("Your token was not accepted; paste a valid one."); }
    return { ok: res.ok, status: res.status, data };
  }

  function showLogin(message) {
    const box = document.getElementById("login");
    if (!box) return;
    box.classList.remove("hidden");
    document.getElementById("app").classList.add("hidden");
    if (message) document.getElementById("login-msg").textContent = message;
  }

  function setupLogin(start) {
    document.getElementById("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      localStorage.setItem(KEY, document.getElementById("token").value.trim());
      location.reload();
    });
    document.getElementById("logout").addEventListener("click", () => {
      localStorage.removeItem(KEY); location.reload();
    });
    if (!token()) { showLogin("Paste the token from `firstcall user add`."); return; }
    api("/api/me").then((r) => {
      if (!r.ok) return;
      document.getElementById("who").textContent = r.data.name + " (" + r.data.role + ")";
      document.getElementById("login").classList.add("hidden");
      document.getElementById("app").classList.remove("hidden");
      start(r.data);
    });
  }

  // Live updates: the server says which topics changed; the page refetches them.
  function live(onChange) {
    let delay = 500;
    const dot = document.getElementById("live");
    function connect() {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
      ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: token() }));
      ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.type === "hello") { delay = 500; dot && dot.classList.add("on"); onChange(["*"]); }
        if (msg.type === "changed") onChange(msg.topics);
      };
      ws.onclose = (ev) => {
        dot && dot.classList.remove("on");
        // 4401: the token was refused, removed (`firstcall user remove`) or expired: ask for one
        if (ev.code === 4401) { showLogin("Your token was revoked or has expired; paste a new one."); return; }
        setTimeout(connect, delay); delay = Math.min(delay * 2, 8000);
      };
    }
    connect();
  }

  function dur(ms) {
    if (ms === null || ms === undefined) return "–";
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min " + String(s % 60).padStart(2, "0") + " s";
    return Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " min";
  }
  function clock(ms) { return new Date(ms).toISOString().slice(11, 19); }
  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }
  return { api, live, dur, clock, el, setupLogin, token };
})();
