// The customer's chat window: a form (name, email, first words), then the
// conversation with the agent, typing both ways. It talks to the visitor
// endpoint with the chat's secret; the secret stays in this tab
// (sessionStorage), so a reload carries on the same chat.

import { el, fill, call, when, length, MAX_MESSAGE } from "/assets/common.js";
import { t, translatePage, languageSwitch } from "/assets/i18n.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const queue = params.get("queue") || "support";
const KEY = `dossier.visitor.${queue}`;

let chat = null; // { id, secret }
let stream = null;
let lastTyping = 0;
const shown = new Set();

function auth() {
  return { authorization: `Bearer ${chat.secret}` };
}

function status(text) {
  $("chat-status").textContent = text;
}

function addMessage(m) {
  if (shown.has(m.id)) return;
  shown.add(m.id);
  $("transcript").append(
    el("li", { class: `message ${m.sender}` },
      el("span", { class: "author" }, m.sender === "customer" ? t("You") : m.author), " ",
      el("time", { datetime: m.at }, when(m.at)),
      el("p", { class: "text" }, m.text)));
  $("transcript").scrollTop = $("transcript").scrollHeight;
  if (m.sender === "agent") $("agent-typing").hidden = true;
}

function showView(view) {
  if (view.state === "waiting") status(view.notice || t("Every agent is busy; your chat waits for the next one. Stay here."));
  else if (view.state === "offered") status(t("An agent is about to answer."));
  else if (view.state === "active") status(t("You are chatting with {0}.", view.agent || t("an agent")));
  else if (view.state === "ended") ended();
  if (view.notice && view.state !== "waiting") status(view.notice);
  for (const m of view.transcript || []) addMessage(m);
}

function ended() {
  status(t("The chat has ended. Thank you."));
  $("send-form").hidden = true;
  if (stream) stream.close();
  sessionStorage.removeItem(KEY);
}

function listen() {
  stream = new EventSource(`/api/v1/visitor/chats/${chat.id}/events?secret=${encodeURIComponent(chat.secret)}`);
  const on = (name, handler) => stream.addEventListener(name, (e) => {
    try {
      handler(JSON.parse(e.data));
    } catch {
      // A malformed event is skipped.
    }
  });
  on("accepted", (d) => status(t("You are chatting with {0}.", d.agent_name || d.agent || t("an agent"))));
  on("message", (pushed) => addMessage(pushed.message || pushed));
  on("typing", () => {
    const typing = $("agent-typing");
    typing.textContent = t("The agent is typing…");
    typing.hidden = false;
    clearTimeout(typing.timer);
    typing.timer = setTimeout(() => { typing.hidden = true; }, 4000);
  });
  on("ended", ended);
  on("reset", refresh);
}

async function refresh() {
  showView(await call("GET", `/api/v1/visitor/chats/${chat.id}`, undefined, auth()));
}

function conversation() {
  $("start-form").hidden = true;
  $("conversation").hidden = false;
  $("visitor-text").focus();
}

async function startChat(ev) {
  ev.preventDefault();
  $("start-error").textContent = "";
  const first = $("visitor-first").value;
  try {
    const started = await call("POST", "/api/v1/visitor/chats", {
      queue,
      name: $("visitor-name").value.trim(),
      email: $("visitor-email").value.trim(),
      message: first.trim() ? first : undefined,
    });
    chat = { id: started.chat, secret: started.secret };
    sessionStorage.setItem(KEY, JSON.stringify(chat));
    conversation();
    showView(started);
    listen();
  } catch (e) {
    $("start-error").textContent = e.status === 429
      ? t("Too many chats were started from here. Try again in a few minutes.")
      : e.message;
  }
}

function counter() {
  const n = length($("visitor-text").value);
  $("visitor-count").textContent = String(n);
  $("visitor-count").parentElement.classList.toggle("over", n > MAX_MESSAGE);
}

async function send(ev) {
  ev.preventDefault();
  const text = $("visitor-text");
  $("send-error").textContent = "";
  if (!text.value.trim()) return;
  if (length(text.value) > MAX_MESSAGE) {
    $("send-error").textContent = t("Your message is {0} characters; at most {1} fit. Shorten it; your text is kept.", length(text.value), MAX_MESSAGE);
    return;
  }
  try {
    const sent = await call("POST", `/api/v1/visitor/chats/${chat.id}/messages`, { text: text.value }, auth());
    if (sent && sent.id) addMessage(sent);
    text.value = "";
    counter();
  } catch (e) {
    $("send-error").textContent = t("{0} Your text is kept.", e.message);
  }
}

function typing() {
  counter();
  if (!chat || Date.now() - lastTyping < 2000) return;
  lastTyping = Date.now();
  call("POST", `/api/v1/visitor/chats/${chat.id}/typing`, undefined, auth()).catch(() => {});
}

translatePage();
languageSwitch($("lang"));
$("start-form").addEventListener("submit", startChat);
$("send-form").addEventListener("submit", send);
$("visitor-text").addEventListener("input", typing);
$("visitor-text").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("send-form").requestSubmit();
  }
});
if (params.get("title")) fill($("widget-title"), params.get("title"));

const saved = sessionStorage.getItem(KEY);
if (saved) {
  try {
    chat = JSON.parse(saved);
    conversation();
    refresh().then(listen).catch(() => {
      sessionStorage.removeItem(KEY);
      location.reload();
    });
  } catch {
    sessionStorage.removeItem(KEY);
  }
}
