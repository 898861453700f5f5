// LSG indicators dashboard: same-origin reads of the public API, redrawn without a reload every 5 s.
(function () {
  "use strict";
  const I18N = window.LSG_I18N;
  const POLL_MS = 5000;
  const RETRY_MS = 1500;  // a failed breakdown read is tried again after this long
  const LEVELS = ["country", "municipality", "settlement"];
  const state = {
    lang: pickLang(),
    data: null,            // GET /v1/indicators
    signature: "",
    drillCode: null,
    path: [],              // [{level, key, name}] chosen so far
  };
  const $ = (id) => document.getElementById(id);
  const t = (k) => I18N[state.lang][k] ?? I18N.en[k] ?? k;

  function pickLang() {
    const q = new URLSearchParams(location.search).get("lang");
    let saved = null;
    try { saved = localStorage.getItem("lsg-lang"); } catch (e) { /* private mode */ }
    for (const l of [q, saved, (navigator.language || "").slice(0, 2)]) if (l && I18N[l]) return l;
    return "en";
  }

  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") n.className = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v);
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
  function fmt(v, decimals) {
    if (v === null || v === undefined) return "—";
    return Number(v).toLocaleString(locale(), { maximumFractionDigits: decimals ?? 2 });
  }
  function decimalsOf(code) {
    const ind = indicator(code);
    if (!ind) return 2;
    return ind.measure === "ordinal" ? 2 : ind.unit === "%" ? 1 : 0;
  }
  const indicator = (code) => (state.data ? state.data.indicators.find((i) => i.code === code) : null);

  async function getJSON(url) {
    const r = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
    if (!r.ok) throw new Error(url + ": " + r.status);
    return r.json();
  }
  const breakdown = (code, dim, area) =>
    getJSON(`/v1/indicators/${encodeURIComponent(code)}?breakdown=${dim}` + (area ? `&area=${encodeURIComponent(area)}` : ""));

  // ---- static labels -------------------------------------------------------------------------------
  function applyLabels() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    $("lang").value = state.lang;
    if (state.data) {
      const title = tr(state.data.programme.title);
      $("programme-title").textContent = title;
      showUpdated();
      document.title = title + " — " + t("kicker");
    }
  }

  // ---- overview --------------------------------------------------------------------------------------
  function renderOverview() {
    const box = $("overview");
    box.replaceChildren();
    const groups = [];
    for (const ind of state.data.indicators) {
      let g = groups.find((x) => x.id === ind.group);
      if (!g) groups.push((g = { id: ind.group, items: [] }));
      g.items.push(ind);
    }
    for (const g of groups) {
      const gid = "group-" + g.id;
      box.append(el("h3", { id: gid }, (t("groups")[g.id]) || g.id));
      const head = el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, t("title")), el("th", { scope: "col", class: "num" }, t("target")),
        el("th", { scope: "col", class: "num" }, t("actual")), el("th", { scope: "col" }, t("progress")),
        el("th", { scope: "col" }, t("status"))));
      const body = el("tbody");
      for (const ind of g.items) {
        const dec = decimalsOf(ind.code);
        const pct = ind.progress_pct;
        const width = Math.max(0, Math.min(100, pct ?? 0));
        const unit = ind.unit && ind.unit !== "%" ? " " : "";
        body.append(el("tr", { "data-code": ind.code },
          el("td", { class: "title", "data-label": t("title") },
            el("button", { class: "link", type: "button", title: ind.code,
              onclick: () => { selectDrill(ind.code); $("drill-title").scrollIntoView({ behavior: "smooth" }); $("drill-indicator").focus(); } },
              tr(ind.title))),
          el("td", { class: "num target", "data-label": t("target") }, ind.target === null ? "—" : fmt(ind.target, dec) + (ind.unit === "%" ? " %" : "")),
          el("td", { class: "num actual", "data-label": t("actual"), "data-testid": "actual-" + ind.code, "data-value": ind.actual ?? "" },
            fmt(ind.actual, dec) + (ind.unit === "%" && ind.actual !== null ? " %" : "")),
          el("td", { "data-label": t("progress") },
            el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
              "aria-valuenow": String(Math.round(width)), "aria-label": tr(ind.title) + ": " + t("progress") },
              el("span", { style: null, "data-w": width })),
            el("span", { class: "sr-pct" }, pct === null ? "" : " " + fmt(pct, 1) + " %")),
          el("td", { "data-label": t("status") },
            el("span", { class: "rag rag-" + ind.rag }, t("rag")[ind.rag] || ind.rag))));
        void unit;
      }
      box.append(el("table", { class: "overview", "aria-labelledby": gid }, head, body));
    }
    // widths through CSSOM (the CSP forbids inline style attributes)
    box.querySelectorAll(".bar > span").forEach((s) => { s.style.width = s.dataset.w + "%"; });
  }

  // ---- drill-down: country -> municipality -> settlement --------------------------------------------
  function fillDrillSelect() {
    const sel = $("drill-indicator");
    const current = state.drillCode;
    sel.replaceChildren(...state.data.indicators.map((i) =>
      el("option", { value: i.code }, tr(i.title))));
    sel.value = current;
  }
  function selectDrill(code) {
    state.drillCode = code;
    state.path = [];
    $("drill-indicator").value = code;
    renderDrill();
  }
  function placeName(cell, level) {
    if (level === "country") return (t("countries")[cell.key]) || tr(cell.name) || cell.key;
    return tr(cell.name) || cell.key;
  }
  async function renderDrill() {
    const code = state.drillCode;
    const depth = state.path.length;
    const level = LEVELS[Math.min(depth, LEVELS.length - 1)];
    const area = depth ? `${state.path[depth - 1].level}:${state.path[depth - 1].key}` : null;
    const crumbs = $("crumbs");
    crumbs.replaceChildren(el("li", {}, depth
      ? el("button", { class: "link", type: "button", onclick: () => { state.path = []; renderDrill(); } }, t("allProgramme"))
      : el("span", { "aria-current": "page" }, t("allProgramme"))));
    state.path.forEach((p, i) => crumbs.append(el("li", {}, i === depth - 1
      ? el("span", { "aria-current": "page" }, p.label())
      : el("button", { class: "link", type: "button", onclick: () => { state.path = state.path.slice(0, i + 1); renderDrill(); } }, p.label()))));
    let res;
    try { res = await breakdown(code, level, area); } catch (e) {
      // A failed read (the service restarting, a dropped connection) is tried again while the choice stands,
      // rather than leaving the previous table on screen as if it were the answer.
      setTimeout(() => { if (code === state.drillCode && depth === state.path.length) renderDrill(); }, RETRY_MS);
      return;
    }
    if (code !== state.drillCode || depth !== state.path.length) return;  // a newer choice won
    const dec = decimalsOf(code);
    const box = $("drill");
    if (!res.cells.length) { box.replaceChildren(el("p", { class: "empty" }, t("noData"))); return; }
    const canGoDeeper = depth < LEVELS.length - 1;
    const body = el("tbody");
    for (const c of res.cells) {
      const name = placeName(c, level);
      const nameCell = canGoDeeper
        ? el("button", { class: "link", type: "button", "data-level": level, "data-key": c.key,
            onclick: () => {
              const cell = c;
              state.path.push({ level, key: cell.key, label: () => placeName(cell, level) });
              renderDrill();
            } }, name)
        : el("span", { "data-level": level, "data-key": c.key }, name);
      body.append(el("tr", {},
        el("th", { scope: "row" }, nameCell),
        el("td", { class: "num", "data-testid": `drill-${level}-${c.key}` }, c.suppressed ? t("hidden") : fmt(c.value, dec)),
        el("td", { class: "num" }, c.persons === undefined || c.persons === null ? "" : fmt(c.persons, 0))));
    }
    box.replaceChildren(
      canGoDeeper ? el("p", { class: "note" }, t("drillHint")) : "",
      el("table", { "aria-labelledby": "drill-title" },
        el("caption", { class: "note" }, tr(res.title) + " — " + t(level)),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t(level)), el("th", { scope: "col", class: "num" }, t("value")),
          el("th", { scope: "col", class: "num" }, t("persons")))),
        body));
  }

  // ---- satisfaction trend (inline SVG) ------------------------------------------------------------
  async function renderTrend() {
    const series = [
      { code: "SD.SAT_DIALOGUE_MEAN", label: t("dialogue"), color: "#0b4f8a", dash: "" },
      { code: "SD.SAT_INVOLVEMENT_MEAN", label: t("involvement"), color: "#a4161a", dash: "6 4" },
    ];
    const results = await Promise.all(series.map((s) => breakdown(s.code, "wave").catch(() => ({ cells: [] }))));
    const W = 420, H = 220, L = 36, R = 36, T = 12, B = 32;
    const x = (w) => L + ((w - 1) / 3) * (W - L - R);
    const y = (v) => T + (1 - (v - 1) / 4) * (H - T - B);
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-labelledby": "trend-svg-title" });
    const title = svgEl("title", { id: "trend-svg-title" });
    title.textContent = t("trend") + ", " + t("mean");
    svg.append(title);
    for (let v = 1; v <= 5; v++) {
      svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#d5dae1" }));
      const lbl = svgEl("text", { x: L - 8, y: y(v) + 4, "text-anchor": "end" }); lbl.textContent = v; svg.append(lbl);
    }
    for (let w = 1; w <= 4; w++) {
      const lbl = svgEl("text", { x: x(w), y: H - 10, "text-anchor": "middle" }); lbl.textContent = `${t("wave")} ${w}`; svg.append(lbl);
    }
    const rows = [];
    series.forEach((s, i) => {
      const pts = results[i].cells.filter((c) => c.value !== null && Number(c.key) >= 1 && Number(c.key) <= 4)
        .map((c) => [Number(c.key), c.value]).sort((a, b) => a[0] - b[0]);
      if (pts.length) {
        svg.append(svgEl("polyline", { points: pts.map(([w, v]) => `${x(w)},${y(v)}`).join(" "), fill: "none",
          stroke: s.color, "stroke-width": 3, "stroke-dasharray": s.dash }));
        for (const [w, v] of pts) svg.append(svgEl("circle", { cx: x(w), cy: y(v), r: 4, fill: s.color }));
      }
      rows.push(el("tr", {}, el("th", { scope: "row" }, s.label),
        ...[1, 2, 3, 4].map((w) => { const p = pts.find((q) => q[0] === w); return el("td", { class: "num" }, p ? fmt(p[1], 2) : "—"); })));
    });
    $("trend").replaceChildren(svg,
      el("ul", { class: "legend" }, series.map((s) => el("li", {}, el("i", { "data-c": s.color }), s.label))),
      el("table", {}, el("caption", { class: "note" }, t("mean")),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), [1, 2, 3, 4].map((w) => el("th", { scope: "col", class: "num" }, `${t("wave")} ${w}`)))),
        el("tbody", {}, rows)));
    $("trend").querySelectorAll(".legend i").forEach((i) => { i.style.background = i.dataset.c; });
  }

  // ---- training completion by role and gender -----------------------------------------------------
  async function renderTraining() {
    const code = "ED.TRAINING_COMPLETED";
    const [roles, genders] = await Promise.all([breakdown(code, "role"), breakdown(code, "gender")].map((p) => p.catch(() => ({ cells: [] }))));
    const table = (dim, res, names) => {
      const max = Math.max(1, ...res.cells.map((c) => c.value || 0));
      return el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t(dim)), el("th", { scope: "col", class: "num" }, t("completed")), el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "")))),
        el("tbody", {}, res.cells.length ? res.cells.map((c) => el("tr", {},
          el("th", { scope: "row" }, names[c.key] || c.key),
          el("td", { class: "num", "data-testid": `training-${dim}-${c.key}` }, c.suppressed ? t("hidden") : fmt(c.value, 0)),
          el("td", {}, el("div", { class: "bar", "aria-hidden": "true" }, el("span", { "data-w": c.suppressed ? 0 : (100 * (c.value || 0)) / max })))))
          : el("tr", {}, el("td", { colspan: "3", class: "empty" }, t("noData")))));
    };
    const box = $("training");
    box.replaceChildren(el("h3", {}, t("role")), table("role", roles, t("roles")), el("h3", {}, t("gender")), table("gender", genders, t("genders")));
    box.querySelectorAll(".bar > span").forEach((s) => { s.style.width = s.dataset.w + "%"; });
  }

  // ---- installations by settlement ------------------------------------------------------------------
  async function renderDevices() {
    const [inst, avail] = await Promise.all([breakdown("CA.DEVICES_INSTALLED", "settlement"), breakdown("CA.DEVICE_AVAILABILITY", "settlement")]
      .map((p) => p.catch(() => ({ cells: [] }))));
    const keys = [...new Set([...inst.cells, ...avail.cells].map((c) => c.key))].sort();
    const byKey = (res, k) => res.cells.find((c) => c.key === k);
    const ack = indicator("CA.ALERTS_ACK_IN_TIME");
    const box = $("devices");
    const summary = el("p", {}, `${t("installed")}: `, el("strong", {}, fmt(indicator("CA.DEVICES_INSTALLED")?.actual, 0)),
      ` / ${fmt(indicator("CA.DEVICES_INSTALLED")?.target, 0)} · ${t("availability")}: `,
      el("strong", {}, fmt(indicator("CA.DEVICE_AVAILABILITY")?.actual, 1) + " %"),
      ack ? ` · ${t("ackInTime")}: ` : "", ack ? el("strong", {}, fmt(ack.actual, 1) + " %") : "");
    if (!keys.length) { box.replaceChildren(summary, el("p", { class: "empty" }, t("noData"))); return; }
    box.replaceChildren(summary, el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("settlement")), el("th", { scope: "col", class: "num" }, t("installed")),
        el("th", { scope: "col", class: "num" }, t("availability")))),
      el("tbody", {}, keys.map((k) => {
        const i = byKey(inst, k), a = byKey(avail, k);
        const cell = i || a;
        return el("tr", {}, el("th", { scope: "row" }, tr(cell.name) || k),
          el("td", { class: "num" }, i ? fmt(i.value, 0) : "—"),
          el("td", { class: "num" }, a && a.value !== null ? fmt(a.value, 1) + " %" : "—"));
      }))));
  }

  // ---- work plan: a Gantt-like timeline with slippage, and the burn next to progress (GET /v1/workplan) ----
  const planUrl = () => {
    const asOf = new URLSearchParams(location.search).get("as_of");
    return "/v1/workplan" + (asOf ? `?as_of=${encodeURIComponent(asOf)}` : "");
  };
  const dayNo = (iso) => Date.parse(iso + "T00:00:00Z") / 86400000;
  function pctAlong(plan, iso) {
    const a = dayNo(plan.programme.start), b = dayNo(plan.programme.end) + 1;
    return Math.max(0, Math.min(100, (100 * (dayNo(iso) - a)) / (b - a)));
  }
  function monthTicks(plan) {
    const out = [];
    const d = new Date(plan.programme.start + "T00:00:00Z");
    while (d <= new Date(plan.programme.end + "T00:00:00Z")) {
      out.push(d.toISOString().slice(0, 10));
      d.setUTCMonth(d.getUTCMonth() + 1);
    }
    return out;
  }
  const monthName = (iso) => new Date(iso + "T00:00:00Z").toLocaleDateString(locale(), { month: "short", timeZone: "UTC" });
  const dayName = (iso) => new Date(iso + "T00:00:00Z").toLocaleDateString(locale(), { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

  function renderPlan(plan) {
    const box = $("plan");
    const ticks = monthTicks(plan);
    const axis = el("div", { class: "gantt-axis", "aria-hidden": "true" },
      ticks.map((m) => el("span", { class: "tick", "data-left": pctAlong(plan, m) }, monthName(m))));
    const today = pctAlong(plan, plan.as_of);
    const wps = el("ol", { class: "gantt" });
    for (const wp of plan.work_packages) {
      const rows = el("ol", { class: "gantt-rows" });
      for (const a of wp.activities) {
        const marks = a.deliverables.map((d) => el("span", {
          class: "mark mark-" + d.status, "data-left": pctAlong(plan, d.due), "data-code": d.code,
          title: `${d.code} ${tr(d.title)} — ${t("due")} ${dayName(d.due)}: ${t("deliverableStatus")[d.status]}` }));
        rows.append(el("li", { class: "gantt-row" + (a.slipping ? " slip" : ""), "data-activity": a.code },
          el("span", { class: "gantt-label" }, el("b", {}, a.code + " "), tr(a.title),
            a.slipping ? el("span", { class: "badge slip-badge" }, t("slipping")) : ""),
          el("span", { class: "track" },
            el("span", { class: "span", "data-left": pctAlong(plan, a.start), "data-w": pctAlong(plan, a.end) - pctAlong(plan, a.start) + 100 / 365 }),
            marks,
            el("span", { class: "now", "data-left": today })),
          el("span", { class: "visually-hidden" }, `${dayName(a.start)} – ${dayName(a.end)}; ` +
            a.deliverables.map((d) => `${d.code} ${t("due")} ${dayName(d.due)}: ${t("deliverableStatus")[d.status]}`).join("; "))));
      }
      wps.append(el("li", { class: "gantt-wp" + (wp.slipping ? " slip" : ""), "data-wp": wp.code },
        el("h3", {}, `${wp.code} ${tr(wp.title)} `,
          el("span", { class: "badge " + (wp.slipping ? "slip-badge" : "ok-badge") }, wp.slipping ? t("slipping") : t("onPlan"))),
        rows));
    }
    const flags = plan.slippage.map((f) => {
      const wp = plan.work_packages.find((w) => w.code === f.work_package);
      const act = wp && wp.activities.find((a) => a.code === f.activity);
      if (f.kind === "deliverable_overdue") {
        const d = act && act.deliverables.find((x) => x.code === f.ref);
        return el("li", { "data-flag": f.ref }, `${f.ref} ${d ? tr(d.title) : ""} — ${t("deliverableStatus").overdue} (${t("due")} ${dayName(f.due)})`);
      }
      const ind = act && act.indicators.find((x) => x.code === f.ref);
      return el("li", { "data-flag": f.ref }, `${ind ? tr(ind.title) : f.ref} — ${t("belowExpected")}: ${fmt(f.actual, 1)} / ${t("expected")} ${fmt(f.expected, 1)}`);
    });
    box.replaceChildren(
      el("p", {}, `${t("asOf")} ${dayName(plan.as_of)} · ${t("outputPct")}: `, el("strong", {}, fmt(plan.output_progress_pct, 1) + " %")),
      el("div", { class: "gantt-box" }, axis, wps),
      el("ul", { class: "legend" },
        ["planned", "delivered", "overdue"].map((k) => el("li", {}, el("span", { class: "mark mark-" + k, "aria-hidden": "true" }), t("deliverableStatus")[k]))),
      el("h3", {}, t("slippage") + ` (${plan.slippage.length})`),
      flags.length ? el("ul", { class: "flags" }, flags) : el("p", { class: "empty" }, t("noSlippage")));
    box.querySelectorAll("[data-left]").forEach((n) => { n.style.left = n.dataset.left + "%"; });
    box.querySelectorAll("[data-w]").forEach((n) => { n.style.width = Math.min(100, n.dataset.w) + "%"; });
  }

  const PARTNER_COLORS = { LEAD: "#0b4f8a", LPS: "#a4161a" };
  function renderBurn(plan) {
    const b = plan.burn;
    const box = $("burn");
    if (!b || Number(b.budget) === 0) { box.replaceChildren(el("p", { class: "empty" }, t("noBudget"))); return; }
    const ticks = monthTicks(plan);
    const W = 640, H = 240, L = 64, R = 16, T = 12, B = 28;
    const max = Math.max(...Object.values(b.partners).map((p) => Math.max(Number(p.budget), Number(p.forecast), ...Object.values(p.months).map(Number))), 1);
    const x = (i) => L + (i / ticks.length) * (W - L - R);
    const y = (v) => T + (1 - v / max) * (H - T - B);
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-labelledby": "burn-svg-title" });
    const title = svgEl("title", { id: "burn-svg-title" });
    title.textContent = t("burn");
    svg.append(title);
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#d5dae1" }));
      const lbl = svgEl("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }); lbl.textContent = fmt(v, 0); svg.append(lbl);
    }
    ticks.forEach((m, i) => {
      const lbl = svgEl("text", { x: x(i + 0.5), y: H - 8, "text-anchor": "middle" }); lbl.textContent = monthName(m); svg.append(lbl);
    });
    const rows = [];
    for (const [code, p] of Object.entries(b.partners)) {
      const color = PARTNER_COLORS[code] || "#5c6570";
      svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(Number(p.budget)), y2: y(Number(p.budget)), stroke: color, "stroke-dasharray": "6 4", "data-budget": code }));
      let last = 0;
      const pts = [[x(0), y(0)]];
      ticks.forEach((m, i) => {
        const key = m.slice(0, 7);
        if (p.months[key] !== undefined) last = Number(p.months[key]);
        if (key <= plan.as_of.slice(0, 7)) pts.push([x(i + 1), y(last)]);
      });
      svg.append(svgEl("polyline", { points: pts.map(([a, c]) => `${a},${c}`).join(" "), fill: "none", stroke: color, "stroke-width": 3, "data-partner": code }));
      rows.push(el("tr", { "data-partner": code }, el("th", { scope: "row" }, t("partners")[code] || code),
        el("td", { class: "num" }, fmt(p.budget, 0)), el("td", { class: "num" }, fmt(p.spent, 0)),
        el("td", { class: "num" }, fmt(p.spent_pct, 1) + " %"), el("td", { class: "num" }, fmt(p.forecast, 0))));
    }
    const wpRows = Object.entries(b.work_packages).map(([code, w]) => {
      const wp = plan.work_packages.find((x) => x.code === code);
      return el("tr", { "data-wp": code }, el("th", { scope: "row" }, `${code} ${wp ? tr(wp.title) : ""}`),
        el("td", { class: "num" }, fmt(w.spent_pct, 1) + " %"), el("td", { class: "num" }, fmt(w.time_pct, 1) + " %"),
        el("td", { class: "num" }, w.output_progress_pct === null ? "—" : fmt(w.output_progress_pct, 1) + " %"));
    });
    box.replaceChildren(
      el("p", { class: "burn-summary" }, `${t("spentPct")}: `, el("strong", {}, fmt(b.spent_pct, 1) + " %"),
        ` · ${t("timePct")}: `, el("strong", {}, fmt(b.time_pct, 1) + " %"),
        ` · ${t("outputPct")}: `, el("strong", {}, fmt(b.output_progress_pct, 1) + " %"),
        ` · ${t("forecast")}: `, el("strong", {}, fmt(b.forecast, 0) + " EUR")),
      svg,
      el("ul", { class: "legend" }, Object.keys(b.partners).map((c) => el("li", {}, el("i", { "data-c": PARTNER_COLORS[c] || "#5c6570" }), t("partners")[c] || c))),
      el("table", {}, el("caption", { class: "note" }, t("partner") + " (EUR)"),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("partner")), el("th", { scope: "col", class: "num" }, t("budget")),
          el("th", { scope: "col", class: "num" }, t("spent")), el("th", { scope: "col", class: "num" }, t("spentPct")),
          el("th", { scope: "col", class: "num" }, t("forecast")))),
        el("tbody", {}, rows)),
      el("table", {}, el("caption", { class: "note" }, t("workPackage")),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("workPackage")), el("th", { scope: "col", class: "num" }, t("spentPct")),
          el("th", { scope: "col", class: "num" }, t("timePct")), el("th", { scope: "col", class: "num" }, t("outputPct")))),
        el("tbody", {}, wpRows)));
    box.querySelectorAll(".legend i").forEach((i) => { i.style.background = i.dataset.c; });
  }

  async function renderWorkplan() {
    let plan;
    try { plan = await getJSON(planUrl()); } catch (e) { return; }
    state.plan = plan;
    renderPlan(plan);
    renderBurn(plan);
  }

  function showUpdated() {
    if (state.updatedAt) $("status").textContent = `${t("updated")}: ${state.updatedAt.toLocaleTimeString(locale())}`;
  }

  // ---- refresh loop ---------------------------------------------------------------------------------
  async function refresh(force) {
    let data;
    try { data = await getJSON("/v1/indicators"); } catch (e) { $("status").textContent = t("offline"); return; }
    const signature = JSON.stringify(data.indicators);
    state.data = data;
    if (!state.drillCode) {
      const first = data.indicators.find((i) => i.code === "SD.RESPONDENTS") || data.indicators[0];
      state.drillCode = first ? first.code : null;
    }
    if (force || signature !== state.signature) {
      state.signature = signature;
      applyLabels();
      renderOverview();
      fillDrillSelect();
      await rerenderDetails();
    }
    state.updatedAt = new Date();
    showUpdated();
    document.body.dataset.ready = "true";
  }

  async function rerenderDetails() {
    const lang = state.lang;
    await Promise.all([renderDrill(), renderTrend(), renderTraining(), renderDevices(), renderWorkplan()]);
    if (lang === state.lang) document.body.dataset.lang = lang;  // every panel drawn in this language
  }

  function start() {
    $("lang").addEventListener("change", (e) => {
      state.lang = e.target.value;
      try { localStorage.setItem("lsg-lang", state.lang); } catch (err) { /* ignore */ }
      applyLabels();
      if (state.data) {
        // redraw at once from what the page holds, then re-read the breakdowns in the new language
        renderOverview();
        fillDrillSelect();
        rerenderDetails();
      }
    });
    $("drill-indicator").addEventListener("change", (e) => selectDrill(e.target.value));
    applyLabels();
    $("status").textContent = t("loading");
    refresh(true);
    setInterval(() => { if (!document.hidden) refresh(false); }, POLL_MS);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
