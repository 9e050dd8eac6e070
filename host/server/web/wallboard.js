// The supervisor's wallboard: queues, agents, totals and two charts, drawn
// from the `wallboard` events of /api/v1/wallboard/events (the server sends
// a new snapshot whenever one changes; the page never polls).

import { el, fill, call, clock, setZone } from "/assets/common.js";
import { t, translatePage, languageSwitch } from "/assets/i18n.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

function table(label, headings, rows) {
  return el("div", { class: "table-box", tabindex: 0, role: "region", "aria-label": label },
    el("table", {},
      el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c)))))));
}

/** A bar chart of `values` (one per hour) with `labels`, as SVG. */
function bars(title, values, labels, format) {
  const width = 480;
  const height = 160;
  const top = Math.max(1, ...values.map((v) => v || 0));
  const step = width / Math.max(1, values.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 24}`, role: "img", "aria-label": title, class: "chart" },
    svg("title", {}, title));
  values.forEach((v, i) => {
    const h = ((v || 0) / top) * height;
    const x = i * step + 4;
    chart.append(
      svg("rect", { x, y: height - h, width: step - 8, height: h, class: "bar" }, svg("title", {}, `${labels[i]}: ${format(v)}`)),
      svg("text", { x: x + (step - 8) / 2, y: height + 16, "text-anchor": "middle", class: "axis" }, labels[i]),
    );
    if (v) chart.append(svg("text", { x: x + (step - 8) / 2, y: Math.max(12, height - h - 4), "text-anchor": "middle", class: "value" }, format(v)));
  });
  return el("figure", {}, chart, el("figcaption", {}, title));
}

function draw(board) {
  $("board").hidden = false;
  $("wallboard-problem").hidden = true;
  $("wallboard-at").textContent = t("Updated {0}", clock(board.at));
  const waiting = board.queues.reduce((n, q) => n + q.waiting, 0);
  const longest = Math.max(0, ...board.queues.map((q) => q.longest_wait_seconds));
  $("tile-waiting").textContent = String(waiting);
  $("tile-longest").textContent = duration(longest);
  $("tile-timed-out").textContent = String(board.timed_out_last_hour);
  $("tile-review").textContent = board.review_queue === null || board.review_queue === undefined ? "–" : String(board.review_queue);
  fill($("queues"), table(t("Queues"),
    [t("Queue"), t("Channel"), t("Waiting"), t("Longest wait"), t("Members on"), t("Available")],
    board.queues.map((q) => [q.name, q.channel, String(q.waiting), duration(q.longest_wait_seconds), String(q.members_on), String(q.members_available)])));
  fill($("agents"), table(t("Agents"),
    [t("Agent"), t("State"), t("Load"), t("Queues"), t("Since")],
    board.agents.map((a) => [a.login, a.state, `${a.active + a.pending} / ${a.capacity}`, a.queues.join(", "), since(a.since)])));
  const labels = board.hours.map((h) => clock(h.start));
  fill($("charts"),
    bars(t("Arrivals per hour (chats and emails)"), board.hours.map((h) => h.chats + h.emails), labels, (v) => String(v || 0)),
    bars(t("Mean wait before an agent accepted"), board.hours.map((h) => h.mean_wait_seconds || 0), labels, (v) => duration(v)));
}

/** When an agent's state began; nothing for one never set. */
function since(iso) {
  const date = new Date(iso);
  return date.getUTCFullYear() < 2000 ? "" : clock(iso);
}

function problem(text, link) {
  $("board").hidden = true;
  fill($("wallboard-problem"), text, link ? [" ", el("a", { href: "/" }, t("Sign in on the desktop"))] : null);
  $("wallboard-problem").hidden = false;
}

async function start() {
  translatePage();
  languageSwitch($("lang"));
  try {
    const board = await call("GET", "/api/v1/wallboard");
    setZone(board.time_zone);
    draw(board);
  } catch (e) {
    if (e.status === 401) return problem(t("Sign in first."), true);
    if (e.status === 403) return problem(t("The wallboard is for supervisors and admins."), false);
    return problem(e.message, false);
  }
  const events = new EventSource("/api/v1/wallboard/events");
  events.addEventListener("wallboard", (e) => {
    try {
      draw(JSON.parse(e.data));
    } catch {
      // A malformed snapshot is skipped; the next one redraws.
    }
  });
  events.addEventListener("error", () => {
    $("wallboard-at").textContent = t("Reconnecting…");
  });
}

start();
