// pyhost dashboard: loads the current state from the JSON API, then follows
// /api/events (Server-Sent Events, read with fetch so a token can be sent
// when reads need one). No framework; uPlot draws the charts.
"use strict";

const HOUR_MS = 3600 * 1000;
const TOKEN_KEY = "pyhost-api-token";
const state = {
  plugins: new Map(), // name -> summary
  series: new Map(), // "plugin/sensor/quantity" -> {plugin, sensor, quantity, unit, t: [], v: []}
  charts: {},
  events: [],
};

const $ = (id) => document.getElementById(id);

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function headers() {
  const value = token();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

async function getJson(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function formatTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

// --- readings, alarm and LEDs -------------------------------------------

// Only physical temperatures and humidities go on the cards and charts
// (a plugin may report other figures as a "temperature" in its own unit).
const UNITS = { temperature: "°C", humidity: "%" };

function showReadings(plugin, timeMs, readings, isCharted = true) {
  let alarm = null;
  for (const reading of readings) {
    if (!reading.valid || UNITS[reading.quantity] !== reading.unit) continue;
    const id = reading.quantity === "temperature" ? "temperature" : "humidity";
    $(id).textContent = reading.value.toFixed(1);
    const status = $(`${id}-status`);
    status.textContent = `${reading.sensor} · ${reading.status}`;
    status.dataset.status = reading.status;
    if (reading.quantity === "temperature") alarm = reading.status === "alarm";
    if (isCharted) addPoint(plugin, reading, timeMs);
  }
  if (alarm !== null) {
    $("alarm").textContent = alarm ? "ON" : "off";
    $("alarm-card").dataset.alarm = alarm ? "on" : "off";
  }
  $("reading-time").textContent = `last reading ${formatTime(timeMs)} from ${plugin}`;
}

function showLeds(first, second) {
  for (const [id, color] of [["led-first", first], ["led-second", second]]) {
    $(id).dataset.color = color;
    $(`${id}-name`).textContent = color;
  }
}

// --- charts --------------------------------------------------------------

const PALETTE = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2"];

function seriesKey(plugin, sensor, quantity) {
  return `${plugin}/${sensor}/${quantity}`;
}

function addPoint(plugin, reading, timeMs) {
  const key = seriesKey(plugin, reading.sensor, reading.quantity);
  let series = state.series.get(key);
  if (!series) {
    series = { plugin, sensor: reading.sensor, quantity: reading.quantity, unit: reading.unit, t: [], v: [] };
    state.series.set(key, series);
  }
  series.t.push(timeMs / 1000);
  series.v.push(reading.value);
  const oldest = (Date.now() - HOUR_MS) / 1000;
  while (series.t.length && series.t[0] < oldest) {
    series.t.shift();
    series.v.shift();
  }
  scheduleChartUpdate();
}

let chartUpdatePending = false;
function scheduleChartUpdate() {
  if (chartUpdatePending) return;
  chartUpdatePending = true;
  requestAnimationFrame(() => {
    chartUpdatePending = false;
    drawChart("temperature");
    drawChart("humidity");
  });
}

function drawChart(quantity) {
  if (typeof uPlot === "undefined") return;
  const list = [...state.series.values()].filter((s) => s.quantity === quantity);
  const element = $(`${quantity}-chart`);
  if (list.length === 0) return;
  const data = uPlot.join(list.map((s) => [s.t, s.v]));
  const labels = list.map((s) => `${s.sensor} (${s.plugin})`).join("|");
  let chart = state.charts[quantity];
  if (chart && chart.labels !== labels) {
    chart.plot.destroy();
    chart = null;
  }
  if (!chart) {
    const unit = list[0].unit;
    const options = {
      width: Math.max(300, element.clientWidth),
      height: 240,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{ stroke: "#667085", grid: { stroke: "#eef0f3" } },
        { stroke: "#667085", grid: { stroke: "#eef0f3" }, values: (u, ticks) => ticks.map((v) => `${v}${unit}`) }],
      series: [{}].concat(list.map((s, i) => ({
        label: list.length > 1 ? `${s.sensor} (${s.plugin})` : s.sensor,
        stroke: PALETTE[(quantity === "humidity" ? i + 2 : i) % PALETTE.length],
        width: 2,
        spanGaps: true,
        value: (u, v) => (v == null ? "–" : `${v.toFixed(1)} ${unit}`),
      }))),
    };
    element.textContent = "";
    chart = { labels, plot: new uPlot(options, data, element) };
    state.charts[quantity] = chart;
  } else {
    chart.plot.setData(data);
  }
}

window.addEventListener("resize", () => {
  for (const [quantity, chart] of Object.entries(state.charts)) {
    chart.plot.setSize({ width: Math.max(300, $(`${quantity}-chart`).clientWidth), height: 240 });
  }
});

// --- plugins and events --------------------------------------------------

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function mebibytes(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

// What the sandbox counted for a plugin: refusals, losses, restarts, memory.
function counted(plugin) {
  const parts = [
    `${plugin.denied_calls ?? 0} denied`, `${plugin.dropped_log_lines ?? 0} log lines dropped`,
    `${plugin.budget_hits ?? 0} over budget`, `${plugin.restarts ?? 0} restarts`,
  ];
  if (plugin.memory_high_water_bytes) parts.push(`${mebibytes(plugin.memory_high_water_bytes)} peak`);
  return parts.join(" · ");
}

// The pipeline's consumers and the recorders, from /api/health.
async function refreshHealth() {
  const health = await getJson("/api/health");
  const body = $("consumers").querySelector("tbody");
  body.textContent = "";
  for (const consumer of health.consumers ?? []) {
    const row = document.createElement("tr");
    row.dataset.consumer = consumer.name;
    row.appendChild(cell(consumer.name));
    row.appendChild(cell(`${consumer.queue_depth} / ${consumer.queue_capacity}`, "number"));
    row.appendChild(cell(String(consumer.queue_high_water), "number"));
    row.appendChild(cell(String(consumer.delivered), "number"));
    row.appendChild(cell(String(consumer.dropped), consumer.dropped > 0 ? "number error" : "number"));
    body.appendChild(row);
  }
  const notes = [];
  if (health.history) {
    const h = health.history;
    notes.push(`history: ${h.state}, ${h.written} written, ${h.dropped_queue_full + h.dropped_write_failed} lost` +
      (h.last_error ? `, last error ${formatTime(h.last_error.time_ms)}` : ""));
  }
  if (health.mqtt) {
    const m = health.mqtt;
    notes.push(`MQTT: ${m.connected ? "connected" : "not connected"}, ${m.published} published, ${m.dropped} dropped`);
  }
  $("recorders").textContent = notes.join(" — ");
}

function renderPlugins() {
  const body = $("plugins").querySelector("tbody");
  body.textContent = "";
  for (const plugin of [...state.plugins.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const row = document.createElement("tr");
    row.dataset.plugin = plugin.name;
    row.appendChild(cell(plugin.name));
    const stateCell = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.dataset.state = plugin.state;
    badge.textContent = plugin.state;
    stateCell.appendChild(badge);
    row.appendChild(stateCell);
    row.appendChild(cell(plugin.version ? plugin.version.slice(0, 12) : "–", "version"));
    row.appendChild(cell(String(plugin.polls), "number"));
    row.appendChild(cell(String(plugin.failures), "number"));
    row.appendChild(cell(plugin.last_poll_ms ? `${plugin.last_poll_duration_ms.toFixed(2)} ms` : "–", "number"));
    row.appendChild(cell(counted(plugin), "counted"));
    row.appendChild(cell(plugin.last_error ? plugin.last_error.message : "", "error"));
    const actions = document.createElement("td");
    const button = document.createElement("button");
    button.textContent = "Reload";
    button.dataset.reload = plugin.name;
    button.addEventListener("click", () => askReload(plugin.name));
    actions.appendChild(button);
    row.appendChild(actions);
    body.appendChild(row);
  }
}

function addLifecycleEvent(event) {
  const item = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = formatTime(event.time_ms);
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = `${event.plugin} ${event.kind}`;
  item.append(time, kind, document.createTextNode(event.message || ""));
  $("events").prepend(item);
  while ($("events").children.length > 50) $("events").lastChild.remove();
}

// --- reload with the token -----------------------------------------------

function toast(text) {
  const element = $("toast");
  element.textContent = text;
  element.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { element.hidden = true; }, 4000);
}

let reloadTarget = null;
function askReload(name) {
  reloadTarget = name;
  $("token-plugin").textContent = name;
  $("token-error").textContent = "";
  $("token-input").value = token();
  $("token-dialog").showModal();
  $("token-input").focus();
}

async function reload(event) {
  event.preventDefault();
  const value = $("token-input").value.trim();
  const response = await fetch(`/api/plugins/${encodeURIComponent(reloadTarget)}/reload`, {
    method: "POST",
    headers: { Authorization: `Bearer ${value}`, "Content-Type": "application/json" },
    body: JSON.stringify({ reason: "dashboard" }),
  });
  if (response.status === 401) {
    $("token-error").textContent = "That token was refused.";
    return;
  }
  if (!response.ok) {
    $("token-error").textContent = `Reload failed: HTTP ${response.status}`;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, value);
  $("token-dialog").close();
  const plugin = state.plugins.get(reloadTarget);
  if (plugin) {
    plugin.state = "reloading";
    renderPlugins();
  }
  toast(`Reload of ${reloadTarget} requested`);
}

// --- the live stream ------------------------------------------------------

function setConnection(status, text) {
  $("connection").dataset.state = status;
  $("connection").textContent = text;
}

function handleEvent(name, data) {
  const payload = JSON.parse(data);
  if (name === "reading") showReadings(payload.plugin, payload.time_ms, payload.readings);
  else if (name === "leds") showLeds(payload.first, payload.second);
  else if (name === "plugin") {
    state.plugins.set(payload.name, payload);
    renderPlugins();
  } else if (name === "lifecycle") addLifecycleEvent(payload);
  else if (name === "poll-failed") addLifecycleEvent({ ...payload, kind: `poll failed (${payload.kind})` });
}

async function follow(lastEventId) {
  const requestHeaders = headers();
  if (lastEventId) requestHeaders["Last-Event-ID"] = lastEventId;
  const response = await fetch("/api/events", { headers: requestHeaders, cache: "no-store" });
  if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
  setConnection("live", "live");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return lastEventId;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
        else if (line.startsWith("id: ")) lastEventId = line.slice(4);
      }
      if (data.length) handleEvent(name, data.join("\n"));
    }
  }
}

async function followForever() {
  let lastEventId = null;
  let delay = 1000;
  for (;;) {
    try {
      lastEventId = await follow(lastEventId);
      delay = 1000;
    } catch (error) {
      setConnection("down", "disconnected, retrying…");
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

async function loadSnapshot() {
  const [readings, plugins, history] = await Promise.all([
    getJson("/api/readings"), getJson("/api/plugins"), getJson("/api/history"),
  ]);
  for (const series of history) {
    if (UNITS[series.quantity] !== series.unit) continue;
    state.series.set(seriesKey(series.plugin, series.sensor, series.quantity), {
      plugin: series.plugin, sensor: series.sensor, quantity: series.quantity, unit: series.unit,
      t: series.time_ms.map((t) => t / 1000), v: series.values,
    });
  }
  for (const plugin of plugins.plugins) state.plugins.set(plugin.name, plugin);
  renderPlugins();
  showLeds(plugins.leds.first, plugins.leds.second);
  for (const [name, latest] of Object.entries(readings.plugins)) {
    if (latest.time_ms) showReadings(name, latest.time_ms, latest.readings, false); // already in the history
  }
  scheduleChartUpdate();
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", reload);
  $("token-cancel").addEventListener("click", () => $("token-dialog").close());
  loadSnapshot().catch((error) => setConnection("down", error.message)).finally(followForever);
  const health = () => refreshHealth().catch(() => {});
  health();
  setInterval(health, 5000);
});
