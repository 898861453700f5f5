// LSG operator console: same-origin reads with the operator's bearer token, redrawn on every change the
// service streams (Server-Sent Events read through fetch, which can send the Authorization header that
// EventSource cannot); when the stream is unavailable, polling with ETags every 5 s.
(function () {
  "use strict";
  const I18N = window.LSG_I18N;
  const POLL_MS = 5000;
  const STREAM_RETRY_MS = 10000;
  const SEVERITIES = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
  const SEV_COLOR = { Extreme: "#a4161a", Severe: "#c2410c", Moderate: "#8a5a00", Minor: "#0b4f8a", Unknown: "#5c6570" };
  const state = {
    lang: pickLang(),
    token: readToken(),
    alerts: null, etag: null, map: null, devices: null,
    fetchedAt: 0,          // Date.now() of the alerts read: the countdowns run from it
    updatedAt: null,
    stream: null,          // AbortController of the live stream
    pollTimer: null,
    notes: {},             // alert id -> the note typed so far (kept across redraws)
  };
  const $ = (id) => document.getElementById(id);
  const t = (k) => I18N[state.lang][k] ?? I18N.en[k] ?? k;
  const tk = (group, key) => (t(group) || {})[key] || key;

  function pickLang() {
    const q = new URLSearchParams(location.search).get("lang");
    let saved = null;
    try { saved = localStorage.getItem("lsg-lang"); } catch (e) { /* private mode */ }
    for (const l of [q, saved, (navigator.language || "").slice(0, 2)]) if (l && I18N[l]) return l;
    return "en";
  }
  function readToken() {
    try { return sessionStorage.getItem("lsg-console-token"); } catch (e) { return null; }
  }
  function keepToken(value) {
    try { if (value) sessionStorage.setItem("lsg-console-token", value); else sessionStorage.removeItem("lsg-console-token"); } catch (e) { /* ignore */ }
  }

  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") n.className = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined) n.append(kid);
    return n;
  }
  const svgEl = (tag, attrs) => {
    const n = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    return n;
  };
  const tr = (obj) => (obj && typeof obj === "object" ? obj[state.lang] || obj.en || Object.values(obj)[0] : obj);
  const locale = () => ({ lv: "lv-LV", ru: "ru-RU", en: "en-GB" })[state.lang];
  const fmt = (v, d) => (v === null || v === undefined ? "—" : Number(v).toLocaleString(locale(), { maximumFractionDigits: d ?? 0 }));
  const time = (iso) => (iso ? new Date(iso).toLocaleString(locale(), { dateStyle: "short", timeStyle: "medium" }) : "—");
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
  }
  function placeName(place, fallback) {
    if (!place) return fallback || "";
    const unit = place.settlement || place.territory || place.municipality;
    return unit ? tr(unit.name) : fallback || place.country;
  }

  // ---- HTTP --------------------------------------------------------------------------------------------
  class Refused extends Error { constructor(status, detail) { super(detail || String(status)); this.status = status; } }
  async function api(url, options) {
    const o = options || {};
    const headers = { accept: "application/json", authorization: "Bearer " + state.token, ...(o.headers || {}) };
    const r = await fetch(url, { ...o, headers, cache: "no-store" });
    if (r.status === 401) { signOut(t("tokenRefused")); throw new Refused(401); }
    if (r.status === 304) return null;
    if (!r.ok) {
      let detail = "";
      try { detail = (await r.json()).detail || ""; } catch (e) { /* not a problem document */ }
      throw new Refused(r.status, detail);
    }
    return r.json();
  }

  // ---- static labels -----------------------------------------------------------------------------------
  function applyLabels() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    $("lang").value = state.lang;
    document.title = t("kicker") + " — LSG";
    $("live").textContent = state.pollTimer ? t("polling") : t("live");
    showUpdated();
  }
  function showUpdated() {
    if (state.updatedAt) $("status").textContent = `${t("updated")}: ${state.updatedAt.toLocaleTimeString(locale())}`;
  }
  function say(text) { $("status").textContent = text; }

  // ---- open alerts -------------------------------------------------------------------------------------
  function leftOf(a) {
    if (a.state !== "raised" || a.seconds_to_escalation === null) return null;
    return a.seconds_to_escalation - (Date.now() - state.fetchedAt) / 1000;
  }
  function leftCell(a) {
    const left = leftOf(a);
    if (left === null) return el("span", { class: "left muted" }, t("notEscalating"));
    return el("span", { class: "left" + (left < 60 ? " soon" : ""), "data-left": a.alert_id },
      left <= 0 ? t("overdue") : duration(left));
  }
  function tickCountdowns() {
    if (!state.alerts) return;
    for (const a of state.alerts.items) {
      const n = document.querySelector(`[data-left="${a.alert_id}"]`);
      if (!n) continue;
      const left = leftOf(a);
      n.textContent = left <= 0 ? t("overdue") : duration(left);
      n.classList.toggle("soon", left < 60);
    }
  }
  function who(n) { return n.name || n.contact_id.slice(0, 8); }
  function notifiedList(a) {
    if (!a.notifications.length) return el("span", { class: "muted" }, t("nobodyYet"));
    return el("ul", { class: "who" }, a.notifications.map((n) => {
      const how = n.delivered_at ? "delivered" : n.state;
      return el("li", { "data-contact": n.contact_id, "data-sending": how },
        el("b", {}, who(n)), ` · ${tk("levels", n.level)} · ${tk("channels", n.channel)} · ${tk("sending", how)}`,
        n.acknowledged_at ? el("span", { class: "ack" }, " ✓") : "");
    }));
  }
  function acknowledgedBy(a) {
    if (!a.acknowledged_by) return el("span", { class: "muted" }, "—");
    const name = a.acknowledged_by_name || (a.acknowledged_by.startsWith("contact:") ? a.acknowledged_by.slice(8, 16) : a.acknowledged_by);
    const channel = a.notifications.find((n) => a.acknowledged_by === "contact:" + n.contact_id);
    return el("span", { class: "ack-by" }, el("b", {}, name),
      el("br"), el("span", { class: "muted" }, channel ? tk("channels", channel.channel) : t("viaApi")),
      el("br"), el("span", { class: "muted" }, time(a.acknowledged_at)));
  }
  async function act(alertId, action, button) {
    const note = (state.notes[alertId] || "").trim();
    button.disabled = true;
    try {
      await api(`/v1/alerts/${encodeURIComponent(alertId)}/${action}`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(note ? { note } : {}),
      });
      delete state.notes[alertId];
      say(t("done")[action]);
      await refresh();
    } catch (e) {
      if (e instanceof Refused && e.status !== 401) say(e.status === 403 ? t("forbidden") : e.message);
      button.disabled = false;
    }
  }
  function actions(a) {
    const input = el("input", { type: "text", maxlength: "2000", placeholder: t("notePlaceholder"), "aria-label": t("note"),
      "data-note": a.alert_id, oninput: (e) => { state.notes[a.alert_id] = e.target.value; } });
    input.value = state.notes[a.alert_id] || "";
    const ack = el("button", { type: "button", class: "primary", "data-action": "acknowledge", disabled: a.state !== "raised",
      onclick: (e) => act(a.alert_id, "acknowledge", e.currentTarget) }, t("acknowledge"));
    const resolve = el("button", { type: "button", class: "danger", "data-action": "resolve",
      onclick: (e) => act(a.alert_id, "resolve", e.currentTarget) }, t("resolve"));
    return el("div", { class: "actions" }, input, ack, resolve);
  }
  function renderAlerts() {
    const data = state.alerts;
    $("severity-counts").replaceChildren(...SEVERITIES.filter((s) => data.by_severity[s]).map((s) =>
      el("li", { "data-severity": s }, el("span", { class: "sev sev-" + s }, tk("severities", s)), el("strong", {}, fmt(data.by_severity[s])))));
    const box = $("alerts");
    if (!data.items.length) { box.replaceChildren(el("p", { class: "empty", "data-testid": "no-alerts" }, t("noAlerts"))); return; }
    const head = el("thead", {}, el("tr", {}, ["severity", "alert", "state", "left", "notified", "acknowledgedBy", "actions"]
      .map((k) => el("th", { scope: "col" }, t(k)))));
    const body = el("tbody", {}, data.items.map((a) => el("tr", { "data-alert": a.alert_id, "data-state": a.state },
      el("td", { "data-label": t("severity") }, el("span", { class: "sev sev-" + a.severity }, tk("severities", a.severity))),
      el("td", { class: "title", "data-label": t("alert") }, el("b", {}, a.headline || a.event),
        a.drill ? el("span", { class: "drill-tag" }, t("drill")) : "",
        el("br"), el("span", { class: "muted" }, `${placeName(a.place, a.area_desc)} · ${time(a.received_at)}`)),
      el("td", { "data-label": t("state") }, el("span", { class: "state state-" + a.state }, tk("states", a.state)),
        a.escalation_level ? el("div", { class: "muted" }, tk("levels", a.escalation_level)) : ""),
      el("td", { "data-label": t("left") }, leftCell(a)),
      el("td", { "data-label": t("notified") }, notifiedList(a)),
      el("td", { "data-label": t("acknowledgedBy") }, acknowledgedBy(a)),
      el("td", { class: "actions-cell" }, actions(a)))));
    // keep the focus in a note being typed across a redraw
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.note : null;
    box.replaceChildren(el("table", { class: "alerts", "aria-labelledby": "alerts-title" }, head, body));
    if (focused) { const n = box.querySelector(`[data-note="${focused}"]`); if (n) { n.focus(); n.setSelectionRange(n.value.length, n.value.length); } }
  }

  // ---- the map: settlements projected from their coordinates (no tiles) -------------------------------
  function renderMap() {
    const data = state.map;
    const box = $("map");
    if (!data.items.length) { box.replaceChildren(el("p", { class: "empty" }, t("noPlaces"))); return; }
    const W = 520, H = 360, PAD = 34;
    const b = data.bounds;
    const midLat = ((b.north + b.south) / 2) * Math.PI / 180;
    const spanX = Math.max((b.east - b.west) * Math.cos(midLat), 0.02);
    const spanY = Math.max(b.north - b.south, 0.02);
    const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
    const cx = (W - spanX * scale) / 2, cy = (H - spanY * scale) / 2;
    const x = (lon) => cx + (lon - b.west) * Math.cos(midLat) * scale + (spanX === 0.02 ? spanX * scale / 2 : 0);
    const y = (lat) => H - cy - (lat - b.south) * scale - (spanY === 0.02 ? spanY * scale / 2 : 0);
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "map-svg-title" });
    const title = svgEl("title", { id: "map-svg-title" });
    title.textContent = t("map");
    svg.append(title);
    for (const s of data.items) {
      const name = tr(s.name) || s.code;
      const g = svgEl("g", { "data-settlement": s.code, "data-alerts": s.open_alerts });
      const c = svgEl("circle", { cx: x(s.longitude), cy: y(s.latitude), r: 6 + Math.min(10, 2 * s.devices),
        fill: s.worst_severity ? SEV_COLOR[s.worst_severity] : "#1f6f3a", class: s.offline ? "offline" : "" });
      const tip = svgEl("title", {});
      tip.textContent = `${name}: ${s.devices} ${t("devicesCount")}, ${s.offline} ${t("offlineCount")}, ` +
        `${s.open_alerts} ${t("openAlerts")}` + (s.worst_severity ? ` (${tk("severities", s.worst_severity)})` : "");
      c.append(tip);
      const label = svgEl("text", { x: x(s.longitude) + 10, y: y(s.latitude) + 4 });
      label.textContent = name + (s.open_alerts ? ` (${s.open_alerts})` : "");
      g.append(c, label);
      svg.append(g);
    }
    box.replaceChildren(svg, el("ul", { class: "legend" },
      SEVERITIES.slice(0, 4).map((s) => el("li", {}, el("span", { class: "dot", "data-c": SEV_COLOR[s] }), tk("severities", s))),
      el("li", {}, el("span", { class: "dot", "data-c": "#1f6f3a" }), t("none"))));
    box.querySelectorAll(".dot").forEach((d) => { d.style.background = d.dataset.c; });
  }

  // ---- devices -------------------------------------------------------------------------------------------
  function ago(iso) {
    if (!iso) return t("never");
    const s = (Date.now() - Date.parse(iso)) / 1000;
    return s < 90 ? `${Math.max(0, Math.round(s))} s ${t("ago")}` : s < 5400 ? `${Math.round(s / 60)} min ${t("ago")}` : time(iso);
  }
  function renderDevices() {
    const items = state.devices.items.filter((d) => d.status !== "decommissioned");
    const box = $("devices");
    if (!items.length) { box.replaceChildren(el("p", { class: "empty" }, t("noDevices"))); return; }
    box.replaceChildren(el("table", { "aria-labelledby": "devices-title" },
      el("thead", {}, el("tr", {}, ["device", "settlement", "status", "heartbeat", "battery", "signal"].map((k) =>
        el("th", { scope: "col", class: k === "battery" || k === "signal" ? "num" : null }, t(k))))),
      el("tbody", {}, items.map((d) => {
        const late = d.last_heartbeat_at && Date.now() - Date.parse(d.last_heartbeat_at) > 2000 * d.heartbeat_interval_s;
        return el("tr", { "data-device": d.device_id },
          el("th", { scope: "row" }, tr(d.label) || d.device_id),
          el("td", {}, placeName(d.place, "")),
          el("td", {}, el("span", { class: "state state-" + d.status }, tk("deviceStatus", d.status))),
          el("td", { class: late ? "stale" : null, title: time(d.last_heartbeat_at) }, ago(d.last_heartbeat_at)),
          el("td", { class: "num", "data-battery": d.device_id }, d.battery_pct === null ? "—" : fmt(d.battery_pct) + " %"),
          el("td", { class: "num" }, d.signal_dbm === null ? "—" : fmt(d.signal_dbm) + " dBm"));
      }))));
  }

  // ---- reading and live updates ----------------------------------------------------------------------------
  let refreshing = null, again = false;
  async function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async () => {
      do {
        again = false;
        try {
          const [alerts, map, devices] = await Promise.all([readAlerts(), api("/v1/console/map"), api("/v1/devices")]);
          if (alerts) { state.alerts = alerts; state.fetchedAt = Date.now(); }
          state.map = map; state.devices = devices;
          render();
          state.updatedAt = new Date();
          showUpdated();
          document.body.dataset.ready = "true";
        } catch (e) {
          if (!(e instanceof Refused)) say(t("offline"));
          else if (e.status !== 401) say(e.message);
        }
      } while (again && state.token);
    })();
    try { await refreshing; } finally { refreshing = null; }
  }
  function render() {
    const lang = state.lang;
    if (state.alerts) renderAlerts();
    if (state.map) renderMap();
    if (state.devices) renderDevices();
    if (lang === state.lang) document.body.dataset.lang = lang;  // every panel drawn in this language
  }

  // The alerts read with its ETag: unchanged since the last read answers 304 and nothing is redrawn for it.
  async function readAlerts() {
    const headers = { accept: "application/json", authorization: "Bearer " + state.token };
    if (state.etag && state.alerts) headers["if-none-match"] = state.etag;
    const r = await fetch("/v1/console/alerts", { headers, cache: "no-store" });
    if (r.status === 401) { signOut(t("tokenRefused")); throw new Refused(401); }
    if (r.status === 304) return null;
    if (!r.ok) throw new Refused(r.status);
    const body = await r.json();
    state.etag = r.headers.get("etag");
    return body;
  }

  async function listen() {
    const controller = new AbortController();
    state.stream = controller;
    try {
      const r = await fetch("/v1/console/stream", {
        headers: { accept: "text/event-stream", authorization: "Bearer " + state.token }, signal: controller.signal, cache: "no-store",
      });
      if (r.status === 401) { signOut(t("tokenRefused")); return; }
      if (!r.ok || !r.body) throw new Error("stream " + r.status);
      stopPolling();
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (/^event: change$/m.test(block)) await refresh();
        }
      }
      if (state.stream === controller && state.token) setTimeout(listen, 0);  // the server closed it: reconnect
    } catch (e) {
      if (controller.signal.aborted || !state.token) return;
      startPolling();  // no stream (a proxy that buffers, the service restarting): poll, and try the stream later
      setTimeout(() => { if (state.token && state.stream === controller) listen(); }, STREAM_RETRY_MS);
    }
  }
  function startPolling() {
    if (state.pollTimer) return;
    state.pollTimer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
    $("live").textContent = t("polling");
  }
  function stopPolling() {
    if (state.pollTimer) clearInterval(state.pollTimer);
    state.pollTimer = null;
    $("live").textContent = t("live");
  }

  function signedIn() {
    $("sign-in").hidden = true;
    $("signed-in").hidden = false;
    $("sign-out").hidden = false;
    say(t("loading"));
    refresh();
    listen();
  }
  function signOut(problem) {
    state.token = null;
    keepToken(null);
    if (state.stream) state.stream.abort();
    state.stream = null;
    stopPolling();
    state.alerts = state.map = state.devices = null;
    state.etag = null;
    $("signed-in").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = problem || "";
    delete document.body.dataset.ready;
  }

  function start() {
    $("lang").addEventListener("change", (e) => {
      state.lang = e.target.value;
      try { localStorage.setItem("lsg-lang", state.lang); } catch (err) { /* ignore */ }
      applyLabels();
      render();
    });
    $("sign-in-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = $("token").value.trim();
      if (!value) return;
      state.token = value;
      keepToken(value);
      $("token").value = "";
      $("sign-in-error").textContent = "";
      signedIn();
    });
    $("sign-out").addEventListener("click", () => signOut(""));
    applyLabels();
    setInterval(tickCountdowns, 1000);
    if (state.token) signedIn(); else signOut("");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
