// FirstCall pages: token handling, API calls, live updates over a websocket.
"use strict";
const FC = (() => {
  // Each page keeps its own token, so one browser can hold the agent's console and
  // the ops dashboard at once; a page without one falls back to the last token given.
  const SHARED = "firstcall.token";
  const KEY = SHARED + "." + (location.pathname.replace(/^\/+/, "") || "console");
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    localStorage.setItem(KEY, hash.get("token"));
    localStorage.setItem(SHARED, hash.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = () => localStorage.getItem(KEY) || localStorage.getItem(SHARED) || "";

  // GET answers that carry an ETag (the queue) are kept; the next GET of the same path
  // sends If-None-Match and a 304 (nothing changed) answers with the kept copy.
  const kept = new Map();
  async function api(path, opts = {}) {
    const headers = { "Authorization": "Bearer " + token() };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const get = (opts.method || "GET") === "GET", had = get ? kept.get(path) : undefined;
    if (had) headers["If-None-Match"] = had.etag;
    let res;
    try {
      res = await fetch(path, { method: opts.method || "GET", headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    } catch (err) {
      disconnected();
      return { ok: false, status: 0, data: { error: "server_unreachable", detail: "the server did not answer" } };
    }
    if (res.status < 500) { lastGood = Date.now(); if (wsOpen) connected(); }
    if (res.status === 304 && had) return { ok: true, status: 304, data: had.data, unchanged: true };
    const type = res.headers.get("content-type") || "";
    const data = type.includes("json") ? await res.json() : await res.text();
    const etag = get && res.ok ? res.headers.get("etag") : null;
    if (etag) kept.set(path, { etag, data }); else if (get) kept.delete(path);
    // A 401 after the sign-in box is up (e.g. the socket said "revoked") keeps its message.
    const asked = !document.getElementById("login")?.classList.contains("hidden");
    if (res.status === 401 && !asked) { showLogin("Your token was not accepted; paste a valid one."); }
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
      const given = document.getElementById("token").value.trim();
      localStorage.setItem(KEY, given);
      localStorage.setItem(SHARED, given);
      location.reload();
    });
    document.getElementById("logout").addEventListener("click", () => {
      if (localStorage.getItem(SHARED) === token()) localStorage.removeItem(SHARED);
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

  // Connection state: a banner says when the server is gone, the figures are greyed as stale,
  // and the reconnect attempts (with backoff) are shown; a failed fetch counts as well.
  let down = null, lastGood = Date.now(), wsOpen = false;
  function banner() {
    let b = document.getElementById("conn-banner");
    if (!b) { b = el("div", { id: "conn-banner", role: "status", class: "conn-banner hidden" }); document.body.prepend(b); }
    return b;
  }
  function disconnected(retryMs, attempt) {
    const b = banner();
    document.body.classList.add("stale");
    if (retryMs === undefined && down !== null) return;  // the reconnect loop already says more
    down = down || Date.now();
    b.className = "conn-banner down";
    b.dataset.state = "down";
    b.textContent = "Disconnected from the server since " + clock(down) + ": the figures below are from " +
      clock(lastGood) + " and may be stale. " + (retryMs === undefined ? "Reconnecting…" :
      "Reconnecting in " + Math.max(1, Math.round(retryMs / 1000)) + " s (attempt " + attempt + ").");
  }
  function connected() {
    lastGood = Date.now();
    if (down === null) return;
    down = null;
    document.body.classList.remove("stale");
    const b = banner();
    b.className = "conn-banner up"; b.dataset.state = "up"; b.textContent = "Reconnected; the figures are live again.";
    setTimeout(() => { if (down === null) b.className = "conn-banner hidden"; }, 4000);
  }

  // Live updates: the server says which topics changed; the page refetches them.
  function live(onChange) {
    let delay = 500, attempt = 0, ws = null;
    const dot = document.getElementById("live");
    function lost() {
      if (!ws) return;
      ws = null; wsOpen = false;
      dot && dot.classList.remove("on");
      attempt += 1;
      disconnected(delay, attempt);
      setTimeout(connect, delay); delay = Math.min(delay * 2, 8000);
    }
    function connect() {
      const sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
      ws = sock;
      sock.onopen = () => sock.send(JSON.stringify({ type: "auth", token: token() }));
      sock.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.type === "hello") { delay = 500; attempt = 0; wsOpen = true; dot && dot.classList.add("on"); connected(); onChange(["*"]); }
        if (msg.type === "changed") onChange(msg.topics);
      };
      sock.onclose = (ev) => {
        // 4401: the token was refused, removed (`firstcall user remove`) or expired: ask for one
        if (ev.code === 4401) {
          wsOpen = false; dot && dot.classList.remove("on");
          showLogin("Your token was revoked or has expired; paste a new one."); return;
        }
        if (ws === sock) lost();
      };
      sock.onerror = () => { if (ws === sock) { try { sock.close(); } catch (e) { /* closing anyway */ } lost(); } };
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
