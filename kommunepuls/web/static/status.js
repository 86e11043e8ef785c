// The status page: the 40 % criterion over time, the ranking and the cohort curve for one
// municipality, from the monitoring API with the user's token, refreshed every 5 seconds.
// The token comes from the URL fragment (#token=...&municipality=851), never the query
// string, so it is not sent to the server in the page request or kept in its logs.
"use strict";

(() => {
  const INDICATOR = "fsm_virksomhedsforloeb";
  const CURVE = "fsm_virksomhedsforloeb_curve";
  const REFRESH_MS = 5000;
  const state = { token: "", municipality: "", names: {}, timer: null };
  const $ = (id) => document.getElementById(id);

  function pct(value) {
    return value === null || value === undefined ? "–" : `${value.toFixed(1).replace(".", ",")} %`;
  }

  function say(message) { $("message").textContent = message || ""; }

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
    return body;
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (_) { return {}; }
  }

  function fillMunicipalities(entries) {
    const select = $("municipality");
    if (select.options.length) return;
    const own = new Set(claims(state.token).municipalities || []);
    const sorted = [...entries].sort((a, b) => a.name.localeCompare(b.name, "da"));
    for (const entry of sorted) {
      state.names[entry.municipality] = entry.name;
      const option = new Option(`${entry.name} (${entry.municipality})${own.has(entry.municipality) ? " ★" : ""}`, entry.municipality);
      select.add(option);
    }
    if (state.municipality) select.value = state.municipality;
  }

  function headline(value) {
    $("current-value").textContent = pct(value.value_pct);
    const met = $("current-met");
    met.className = "badge";
    met.textContent = "";
    if (value.met === true) { met.classList.add("met"); met.textContent = "når målet"; }
    if (value.met === false) { met.classList.add("missed"); met.textContent = "under målet"; }
    const name = state.names[state.municipality] || state.municipality;
    $("current-detail").textContent = value.suppressed
      ? `${name}, ${value.period}: skjult (færre end 5 borgere)`
      : `${name}, ${value.period}: ${value.numerator} af ${value.denominator} borgere`;
    $("freshness").textContent = `Afspejler hændelser til og med position ${value.events_through}` +
      (value.computed_at ? `, beregnet ${new Date(value.computed_at).toLocaleString("da-DK")}` : "");
  }

  async function refresh() {
    if (!state.token) return;
    try {
      const ranking = await api(`/v1/indicators/${INDICATOR}/ranking`);
      fillMunicipalities(ranking.entries);
      // A national token names no municipality: start with the first in the list.
      if (!state.municipality) state.municipality = $("municipality").value;
      const m = encodeURIComponent(state.municipality);
      const [own, country, curve, countryCurve] = await Promise.all([
        api(`/v1/indicators/${INDICATOR}/series?municipality=${m}`),
        api(`/v1/indicators/${INDICATOR}/series?municipality=all`),
        api(`/v1/indicators/${CURVE}/values?municipality=${m}&group=1`),
        api(`/v1/indicators/${CURVE}/values?municipality=all&group=1`),
      ]);
      const latest = own.values[own.values.length - 1];
      if (latest) headline(latest);
      Charts.line($("series-chart"), {
        labels: own.values.map((v) => v.period), target: ranking.target,
        series: [
          { name: state.names[state.municipality] || state.municipality, cls: "own", values: own.values.map((v) => v.value) },
          { name: "Hele landet", cls: "national", values: country.values.map((v) => v.value) },
        ],
      });
      $("ranking-period").textContent = ranking.period;
      Charts.bars($("ranking-chart"), {
        target: ranking.target,
        items: ranking.entries.map((e) => ({ label: e.name, value: e.value, own: e.municipality === state.municipality })),
      });
      const rank = ranking.entries.find((e) => e.municipality === state.municipality);
      const spread = ranking.distribution;
      $("ranking-detail").textContent = (rank && rank.rank ? `Nr. ${rank.rank} af ${ranking.entries.filter((e) => e.rank).length}. ` : "") +
        (spread ? `Median ${pct(spread.median * 100)}, kvartiler ${pct(spread.q1 * 100)}–${pct(spread.q3 * 100)}.` : "");
      Charts.line($("curve-chart"), {
        labels: curve.points.map((p) => String(p.m)),
        series: [
          { name: state.names[state.municipality] || state.municipality, cls: "own", values: curve.points.map((p) => p.value) },
          { name: "Hele landet", cls: "national", values: countryCurve.points.map((p) => p.value) },
        ],
      });
      say("");
    } catch (error) {
      say(`Kunne ikke hente tallene: ${error.message}`);
    }
  }

  function start() {
    if (state.timer) clearInterval(state.timer);
    refresh();
    state.timer = setInterval(refresh, REFRESH_MS);
  }

  function fromFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.token = params.get("token") || sessionStorage.getItem("kommunepuls-token") || "";
    const own = claims(state.token).municipalities || [];
    state.municipality = params.get("municipality") || own[0] || "";
    $("token").value = state.token;
    if (state.token) sessionStorage.setItem("kommunepuls-token", state.token);
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("kommunepuls-token", state.token);
    const chosen = $("municipality").value;
    state.municipality = chosen || (claims(state.token).municipalities || [])[0] || "";
    start();
  });
  $("municipality").addEventListener("change", () => {
    state.municipality = $("municipality").value;
    start();
  });

  fromFragment();
  if (state.token) start(); else say("Indtast et token for at se tallene.");
})();
