// The agent desktop: sign-in, the incoming panel (screen-pops and chat
// offers from the event stream), records (customer, case, follow-ups,
// tasks), chats in tabs, search and "my cases". It talks only to the JSON
// API and to the agent's event stream; every write carries the session's
// CSRF token. Texts from the server go into the page as text (common.js).

import { el, fill, call, when, length, setZone, ApiError, MAX_MESSAGE } from "/assets/common.js";
import { t, translatePage, languageSwitch } from "/assets/i18n.js";

const $ = (id) => document.getElementById(id);
const CSRF_KEY = "dossier.csrf";

const state = {
  me: null,
  csrf: sessionStorage.getItem(CSRF_KEY),
  events: null,
  chats: new Map(), // chat id -> { chat, messages, pop, typingUntil, draft, ended }
  offers: new Map(), // chat id -> offer event data
  activeChat: null,
  schema: null,
  codes: new Map(), // channel -> disposition codes
  customers: new Map(), // id -> customer (cache for names)
};

// ----- the API, with the session's CSRF token ---------------------------------

function api(method, path, body) {
  const headers = method === "GET" ? {} : { "x-csrf-token": state.csrf || "" };
  return call(method, path, body, headers).catch((e) => {
    if (e.status === 401 && state.me) signedOut(t("Your session ended. Sign in again."));
    throw e;
  });
}

const enc = encodeURIComponent;

function toast(text, kind = "info") {
  const item = el("p", { class: `toast ${kind}` }, text);
  $("toasts").append(item);
  setTimeout(() => item.remove(), kind === "error" ? 12000 : 6000);
}

function problemText(e) {
  return e instanceof ApiError ? e.message : String(e);
}

// ----- signing in and out -----------------------------------------------------

async function start() {
  translatePage();
  languageSwitch($("lang"));
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    go(`/search?q=${enc($("search-q").value)}`);
  });
  $("chat-state").addEventListener("change", (ev) => setChatState(ev.target.value));
  $("notify-allow").addEventListener("click", async () => {
    await Notification.requestPermission();
    $("notify-allow").hidden = Notification.permission !== "default";
  });
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a[href^='/']");
    if (!link || ev.ctrlKey || ev.metaKey || ev.shiftKey || link.target) return;
    const href = link.getAttribute("href");
    if (href.startsWith("/api/") || href === "/wallboard") return;
    ev.preventDefault();
    go(link.getAttribute("href"));
  });
  window.addEventListener("popstate", () => route());
  if (!state.csrf) return showSignIn();
  try {
    state.me = await api("GET", "/api/v1/me");
  } catch {
    return showSignIn();
  }
  await enter();
}

function showSignIn(message = "") {
  $("bar").hidden = true;
  $("desk").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("login").focus();
}

async function signIn(ev) {
  ev.preventDefault();
  $("sign-in-error").textContent = "";
  try {
    const session = await call("POST", "/api/v1/session", {
      login: $("login").value.trim(),
      password: $("password").value,
    });
    state.csrf = session.csrf;
    sessionStorage.setItem(CSRF_KEY, session.csrf);
    state.me = await api("GET", "/api/v1/me");
    $("password").value = "";
    await enter();
  } catch (e) {
    $("sign-in-error").textContent =
      e.status === 401 ? t("That login and password do not match.") : problemText(e);
  }
}

async function signOut() {
  try {
    await api("DELETE", "/api/v1/session");
  } catch {
    // Signed out already.
  }
  signedOut("");
}

function signedOut(message) {
  if (state.events) state.events.close();
  state.events = null;
  state.me = null;
  state.csrf = null;
  sessionStorage.removeItem(CSRF_KEY);
  state.chats.clear();
  state.offers.clear();
  fill($("incoming"));
  fill($("chats"));
  showSignIn(message);
}

async function enter() {
  $("sign-in").hidden = true;
  $("bar").hidden = false;
  $("desk").hidden = false;
  fill($("who"), `${state.me.display_name} (${state.me.login})`);
  $("nav-review").hidden = !may("review_email");
  $("nav-wallboard").hidden = !may("reassign_cases");
  if ("Notification" in window && Notification.permission === "default") $("notify-allow").hidden = false;
  try {
    state.schema = await api("GET", "/api/v1/schema");
    setZone(state.schema.time_zone);
  } catch (e) {
    toast(`The field definitions could not be read: ${problemText(e)}`, "error");
  }
  await refreshChatState();
  await reloadChats();
  listen();
  await route();
}

function may(permission) {
  return (state.me && state.me.permissions || []).includes(permission);
}

// ----- the event stream -------------------------------------------------------

function listen() {
  if (state.events) state.events.close();
  const events = new EventSource("/api/v1/events");
  state.events = events;
  const on = (name, handler) =>
    events.addEventListener(name, (e) => {
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      handler(data);
    });
  on("offered", (d) => {
    state.offers.set(d.chat, d);
    drawIncoming();
  });
  on("accepted", (d) => {
    state.offers.delete(d.chat);
    drawIncoming();
  });
  on("rejected", (d) => dropOffer(d.chat, t("You rejected the chat; you are on break.")));
  on("timed_out", (d) => dropOffer(d.chat, t("A chat offer expired; you are on break.")));
  on("message", (pushed) => {
    const d = pushed.message || pushed;
    const open = state.chats.get(d.chat);
    if (!open) return;
    if (!open.messages.some((m) => m.id === d.id)) open.messages.push(d);
    if (d.sender === "customer") open.typingUntil = 0;
    drawChats();
  });
  on("typing", (d) => {
    const open = state.chats.get(d.chat);
    if (!open) return;
    open.typingUntil = Date.now() + 4000;
    drawChats();
    setTimeout(drawChats, 4100);
  });
  on("ended", (d) => {
    const open = state.chats.get(d.chat);
    if (open && !open.ended) {
      open.ended = true;
      open.chat.state = "ended";
      if (d.case_number) open.chat.case_number = d.case_number;
      drawChats();
    }
  });
  on("state", (d) => {
    $("chat-state").value = ["available", "break"].includes(d.state) ? d.state : "offline";
    if (d.reason) toast(t("{0}: {1}", t("Chat"), `${d.state} (${d.reason})`));
  });
  on("pop", (d) => showPop(d));
  on("reminder", (d) => showReminder(d));
  on("workbin", (d) => d.change === "added" && toast(t("A new item is in your workbin.")));
  on("review", (d) => toast(t("Your draft {0} was {1}.", d.draft, d.decision)));
  on("email_offered", (d) => emailOffer(d));
  on("reset", () => {
    reloadChats();
    route();
  });
}

function dropOffer(chat, message) {
  state.offers.delete(chat);
  drawIncoming();
  toast(message, "warn");
  refreshChatState();
}

async function refreshChatState() {
  try {
    const status = await api("GET", "/api/v1/agents/me/chat-state");
    $("chat-state").value = ["available", "break"].includes(status.state) ? status.state : "offline";
  } catch (e) {
    toast(problemText(e), "error");
  }
}

async function setChatState(value) {
  try {
    await api("PUT", "/api/v1/agents/me/chat-state", { state: value });
    toast(value === "available" ? t("You are ready to work.") : t("Chat state: {0}.", value));
  } catch (e) {
    toast(problemText(e), "error");
    refreshChatState();
  }
}

// ----- the incoming panel: offers and pops -------------------------------------

function countdown(deadline) {
  const node = el("span", { class: "countdown" });
  const tick = () => {
    const left = Math.max(0, Math.round((new Date(deadline) - Date.now()) / 1000));
    node.textContent = t("{0} s left", left);
    if (left > 0 && node.isConnected !== false) setTimeout(tick, 1000);
  };
  tick();
  return node;
}

function drawIncoming() {
  const panel = $("incoming");
  for (const node of [...panel.querySelectorAll(".offer")]) node.remove();
  for (const offer of state.offers.values()) {
    const card = el(
      "article",
      { class: "card offer", "aria-label": `Chat offer ${offer.chat}`, dataset: { chat: offer.chat } },
      el("h2", {}, t("Incoming chat")),
      el(
        "dl",
        {},
        el("dt", {}, t("Name")), el("dd", { class: "visitor-name" }, offer.name || t("(not given)")),
        el("dt", {}, t("Email")), el("dd", {}, offer.email || t("(not given)")),
        el("dt", {}, t("IP")), el("dd", {}, offer.ip || t("(unknown)")),
        el("dt", {}, t("Queue")), el("dd", {}, offer.queue),
      ),
      popPreview(offer.pop),
      el("p", {}, countdown(offer.deadline)),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "primary accept", onclick: () => acceptChat(offer.chat) }, t("Accept")),
        may("reject_chat")
          ? el("button", { type: "button", class: "reject", onclick: () => rejectChat(offer.chat) }, t("Reject"))
          : null,
      ),
    );
    panel.prepend(card);
  }
}

function popPreview(pop) {
  if (!pop || !pop.target) return null;
  const box = el("div", { class: "preview" }, el("p", { class: "reason" }, pop.reason || ""));
  const target = pop.target;
  if (target.pop === "case") {
    box.append(el("p", {}, t("Case "), el("a", { href: `/cases/${target.case_number}` }, `#${target.case_number}`)));
    customerLine(box, target.customer);
  } else if (target.pop === "customer") {
    customerLine(box, target.customer);
  } else if (target.pop === "candidates") {
    box.append(el("p", {}, t("{0} customers match.", target.customers.length)));
    for (const id of target.customers) customerLine(box, id);
  } else if (target.pop === "new_customer") {
    box.append(el("p", {}, t("No customer matches: a new customer.")));
  }
  if (pop.open_cases && pop.open_cases.length) {
    box.append(
      el("p", {}, t("Open cases: "), pop.open_cases.map((n, i) => [i ? ", " : "", el("a", { href: `/cases/${n}` }, `#${n}`)])),
    );
  }
  return box;
}

function customerLine(box, id) {
  const line = el("p", { class: "customer-line" }, el("a", { href: `/customers/${enc(`#${id}`)}` }, t("Customer #{0}", id)));
  box.append(line);
  customerById(id)
    .then((c) => fill(line, el("a", { href: `/customers/${enc(c.account)}` }, `${c.name} (${c.account})`)))
    .catch(() => {});
}

async function customerById(id) {
  if (!state.customers.has(id)) state.customers.set(id, await api("GET", `/api/v1/customers/${enc(`#${id}`)}`));
  return state.customers.get(id);
}

async function acceptChat(id) {
  try {
    await api("POST", `/api/v1/chats/${id}/accept`);
    state.offers.delete(id);
    drawIncoming();
    await openChat(id);
  } catch (e) {
    toast(problemText(e), "error");
  }
}

async function rejectChat(id) {
  try {
    await api("POST", `/api/v1/chats/${id}/reject`);
    dropOffer(id, t("You rejected the chat; you are on break."));
  } catch (e) {
    toast(problemText(e), "error");
  }
}

function showPop(data) {
  const { interaction, pop } = data;
  const card = el(
    "article",
    { class: "card pop", "aria-label": t("Screen-pop") },
    el("h2", {}, t("Incoming {0}", interaction.channel)),
    el("p", {}, interaction.caller || interaction.email || interaction.account || ""),
    popPreview(pop),
    el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => card.remove() }, t("Dismiss"))),
  );
  $("incoming").prepend(card);
  const target = pop.target;
  if (target.pop === "case") go(`/cases/${target.case_number}`, { interaction });
  else if (pop.open_cases && pop.open_cases.length) go(`/cases/${pop.open_cases[0]}`, { interaction });
  else if (target.pop === "customer") customerById(target.customer).then((c) => go(`/customers/${enc(c.account)}`, { interaction }));
  else if (target.pop === "new_customer") showNewCustomer(target.prefill || {}, interaction);
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    new Notification(t("Dossier: incoming call"), { body: interaction.caller || "" });
  }
}

function showReminder(data) {
  const card = el(
    "article",
    { class: "card reminder", role: "alert", "aria-label": t("Reminder") },
    el("h2", {}, t("Reminder")),
    el("p", { class: "subject" }, data.subject),
    el("p", {}, t("{0}, due {1}", data.kind, when(data.due_at))),
    data.case ? el("p", {}, el("a", { href: `/cases/${data.case}` }, t("Case #{0}", data.case))) : null,
    el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => card.remove() }, t("Dismiss"))),
  );
  $("incoming").prepend(card);
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(t("Dossier reminder"), { body: data.subject });
  }
}

// ----- addresses --------------------------------------------------------------

let context = {}; // what the current view was opened for (the popped interaction)

function go(path, with_ = {}) {
  context = with_;
  history.pushState({}, "", path);
  route();
}

async function route() {
  const view = $("view");
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  let match;
  try {
    if ((match = path.match(/^\/cases\/(\d+)$/))) await showCase(Number(match[1]));
    else if ((match = path.match(/^\/customers\/([^/]+)$/))) await showCustomer(decodeURIComponent(match[1]));
    else if ((match = path.match(/^\/follow-ups\/(\d+)$/))) await showFollowUp(Number(match[1]));
    else if ((match = path.match(/^\/workbin\/(\d+)$/))) await showWorkbinItem(Number(match[1]));
    else if ((match = path.match(/^\/drafts\/(\d+)$/))) await showDraft(Number(match[1]));
    else if ((match = path.match(/^\/review\/(\d+)$/))) await showReview(Number(match[1]));
    else if (path === "/workbin") await showWorkbin();
    else if (path === "/review") await showReviewQueue();
    else if (path === "/queues") await showQueues();
    else if (path === "/search") await showSearch(params.get("q") || "");
    else if (path === "/tasks") await showTasks();
    else if (path === "/chats") await showChatList();
    else await showMine();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) notFound();
    else fill(view, el("p", { class: "error", role: "alert" }, problemText(e)));
  }
  $("chats").hidden = state.chats.size === 0;
}

function notFound() {
  document.title = t("Not found · Dossier");
  fill($("view"), el("div", { class: "card not-found" },
    el("h1", {}, t("Not found")),
    el("p", {}, t("There is nothing at this address, or nothing you may see.")),
    el("p", {}, el("a", { href: "/mine" }, t("Back to my cases")))));
}

/** A table in a box that scrolls sideways when the window is narrower. */
function scrolled(table, label = t("Table")) {
  // Focusable, so that keyboard users can scroll it too.
  return el("div", { class: "table-box", tabindex: 0, role: "region", "aria-label": label }, table);
}

function heading(text) {
  document.title = `${text} · Dossier`;
  return el("h1", {}, text);
}

// ----- lists ------------------------------------------------------------------

function caseTable(cases) {
  if (!cases.length) return el("p", {}, t("No cases."));
  return scrolled(el("table", {},
    el("thead", {}, el("tr", {}, [t("Case"), t("Subject"), t("Status"), t("Priority"), t("Owner"), t("Updated")].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, cases.map((c) =>
      el("tr", {},
        el("td", {}, el("a", { href: `/cases/${c.number}` }, `#${c.number}`)),
        el("td", {}, c.subject),
        el("td", {}, c.status),
        el("td", {}, c.priority),
        el("td", {}, c.owner || ""),
        el("td", {}, when(c.updated_at))))), t("Cases")));
}

async function showMine() {
  const page = await api("GET", `/api/v1/cases?owner=${enc(state.me.login)}&open=true&limit=50`);
  fill($("view"), heading(t("My cases")), caseTable(page.items));
}

async function showSearch(q) {
  $("search-q").value = q;
  const view = $("view");
  if (!q.trim()) return fill(view, heading(t("Search")), el("p", {}, t("Type words to search cases and customers.")));
  const hits = await api("GET", `/api/v1/search?q=${enc(q)}&limit=50`);
  fill(view, heading(t("Search: {0}", q)),
    hits.items.length
      ? el("ul", { class: "hits" }, hits.items.map((h) =>
        el("li", {},
          h.case_number
            ? el("a", { href: `/cases/${h.case_number}` }, t("Case #{0}", h.case_number))
            : el("a", { href: `/customers/${enc(`#${h.customer}`)}` }, t("Customer #{0}", h.customer)),
          ` (${h.kind}) `,
          el("span", { class: "snippet" }, h.snippet))))
      : el("p", {}, t("Nothing matches.")));
}

async function showTasks() {
  const page = await api("GET", `/api/v1/tasks?assignee=${enc(state.me.login)}&status=planned&limit=100`);
  fill($("view"), heading(t("My tasks")), taskTable(page.items));
}

function taskTable(tasks) {
  if (!tasks.length) return el("p", {}, t("No tasks."));
  return scrolled(el("table", { class: "tasks" },
    el("thead", {}, el("tr", {}, [t("Due"), t("Kind"), t("Subject"), t("Reminder"), t("Case"), ""].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, tasks.map((task) =>
      el("tr", {},
        el("td", {}, when(task.due_at)),
        el("td", {}, taskKind(task.kind)),
        el("td", {}, task.subject),
        el("td", {}, task.reminder_minutes != null ? t("{0} min before", task.reminder_minutes) : ""),
        el("td", {}, task.case ? el("a", { href: `/cases/${task.case}` }, `#${task.case}`) : ""),
        el("td", {}, task.status === "planned"
          ? el("button", { type: "button", onclick: async () => {
            try {
              await api("POST", `/api/v1/tasks/${task.id}/finish`, {});
              route();
            } catch (e) {
              toast(problemText(e), "error");
            }
          } }, t("Done"))
          : task.status)))), t("Tasks")));
}

// ----- a customer ---------------------------------------------------------------

async function showCustomer(key) {
  const customer = await api("GET", `/api/v1/customers/${enc(key)}`);
  state.customers.set(customer.id, customer);
  const cases = await api("GET", `/api/v1/cases?customer=${customer.id}&limit=50`);
  fill($("view"),
    heading(customer.name),
    el("section", { class: "card" },
      el("dl", { class: "fields" },
        el("dt", {}, t("Account")), el("dd", {}, customer.account),
        el("dt", {}, t("Phones")), el("dd", {}, customer.phones.map((p) => `${p.number} (${p.label})`).join(", ")),
        el("dt", {}, t("Emails")), el("dd", {}, customer.emails.map((m) => `${m.address} (${m.label})`).join(", ")),
        ...customFieldsShown("customer", customer.custom))),
    el("h2", {}, t("Cases")),
    caseTable(cases.items),
    newCaseForm(customer));
}

function customFieldsShown(object, custom) {
  const defs = (state.schema && state.schema.fields[object]) || [];
  return defs.flatMap((d) => [el("dt", {}, d.label), el("dd", {}, shownValue(custom[d.name]))]);
}

/** A custom field's value without its type tag (`{"choice": "gold"}`). */
function untagged(value) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1) return value[keys[0]];
  }
  return value;
}

function shownValue(tagged) {
  const value = untagged(tagged);
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

/** An instant as a `datetime-local` input holds it, in the browser's zone. */
function localInput(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function newCaseForm(customer) {
  const subject = el("input", { id: "new-case-subject", required: true, maxlength: 500 });
  const form = el("form", { class: "card" },
    el("h2", {}, t("Open a case")),
    el("label", { for: "new-case-subject" }, t("Subject")), subject,
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit" }, t("Open the case")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const made = await api("POST", "/api/v1/cases", { customer: customer.account, subject: subject.value });
      go(`/cases/${made.number}`, context);
    } catch (e) {
      form.querySelector(".error").textContent = problemText(e);
    }
  });
  return form;
}

function showNewCustomer(prefill, interaction) {
  history.pushState({}, "", "/customers/new");
  const fields = [
    ["account", t("Account number"), prefill.account || ""],
    ["name", t("Name"), prefill.name || ""],
    ["phone", t("Phone"), prefill.phone || interaction.caller || ""],
    ["email", t("Email"), prefill.email || interaction.email || ""],
  ];
  const inputs = {};
  const form = el("form", { class: "card", id: "new-customer" },
    heading(t("New customer")),
    fields.map(([name, label, value]) => {
      inputs[name] = el("input", { id: `nc-${name}`, name, value });
      return [el("label", { for: `nc-${name}` }, label), inputs[name], el("p", { class: "field-error", id: `nc-${name}-error` })];
    }),
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, t("Save the customer")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      account: inputs.account.value.trim(),
      name: inputs.name.value.trim(),
      phones: inputs.phone.value.trim() ? [{ label: "main", number: inputs.phone.value.trim() }] : [],
      emails: inputs.email.value.trim() ? [{ label: "main", address: inputs.email.value.trim() }] : [],
    };
    try {
      const made = await api("POST", "/api/v1/customers", body);
      go(`/customers/${enc(made.account)}`, { interaction });
    } catch (e) {
      showProblem(form, e, (name) => form.querySelector(`#nc-${name}-error`));
    }
  });
  fill($("view"), form);
}

/** Shows an API problem on the field it names, else at the form's foot. */
function showProblem(form, e, fieldError) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  const field = e.problem && e.problem.field;
  const target = field && fieldError(field);
  if (target) {
    target.textContent = problemText(e);
    const input = document.getElementById(target.id.replace(/-error$/, ""));
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", target.id);
      input.focus();
    }
  } else {
    form.querySelector(".error").textContent = problemText(e);
  }
}

// ----- a case -------------------------------------------------------------------

async function showCase(number, cursor) {
  const c = await api("GET", `/api/v1/cases/${number}`);
  const customer = await customerById(c.customer).catch(() => null);
  const view = $("view");
  fill(view,
    heading(t("Case #{0}: {1}", c.number, c.subject)),
    el("p", { class: "crumbs" }, customer
      ? el("a", { href: `/customers/${enc(customer.account)}` }, `${customer.name} (${customer.account})`)
      : t("Customer #{0}", c.customer)),
    caseForm(c),
    el("section", { class: "card" }, el("h2", {}, t("Follow-ups (newest first)")), el("div", { id: "follow-ups" })),
    noteForm(c),
    await dispositionForm(c),
    el("section", { class: "card" }, el("h2", {}, t("Tasks")), el("div", { id: "case-tasks" })),
    taskForm(c));
  await drawFollowUps(c.number, cursor);
  await drawCaseTasks(c.number);
}

function caseForm(c) {
  const schema = state.schema || { case: {}, fields: {} };
  const inputs = {};
  const choice = (name, label, options, value) => {
    inputs[name] = el("select", { id: `case-${name}`, name }, options.map((o) =>
      el("option", { value: o.key, selected: o.key === value }, o.label || o.key)));
    return [el("label", { for: `case-${name}` }, label), inputs[name], el("p", { class: "field-error", id: `case-${name}-error` })];
  };
  const keyed = (list) => (list || []).map((k) => (typeof k === "string" ? { key: k } : k));
  const customInputs = ((schema.fields && schema.fields.case) || []).map((d) => fieldInput(d, c.custom[d.name], inputs));
  const form = el("form", { class: "card case-form", "aria-label": t("Case fields") },
    el("h2", {}, t("Fields")),
    el("div", { class: "grid" },
      el("label", { for: "case-subject" }, t("Subject")),
      (inputs.subject = el("input", { id: "case-subject", value: c.subject, required: true })),
      el("p", { class: "field-error", id: "case-subject-error" }),
      choice("status", t("Status"), keyed(schema.case && schema.case.statuses), c.status),
      choice("priority", t("Priority"), keyed(schema.case && schema.case.priorities), c.priority),
      choice("severity", t("Severity"), keyed(schema.case && schema.case.severities), c.severity),
      el("span", { class: "label" }, t("Owner")), el("span", {}, c.owner || t("(nobody)")),
      el("span", { class: "label" }, t("Visibility")), el("span", {}, c.visibility),
      el("span", { class: "label" }, t("Last disposition")), el("span", {}, c.last_disposition || ""),
      customInputs),
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit" }, t("Save the fields")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const custom = {};
    for (const d of (schema.fields && schema.fields.case) || []) {
      const value = readField(d, inputs[`custom.${d.name}`]);
      if (value !== undefined) custom[d.name] = value;
    }
    const body = { subject: inputs.subject.value, status: inputs.status.value, priority: inputs.priority.value, severity: inputs.severity.value, custom };
    try {
      await api("PATCH", `/api/v1/cases/${c.number}`, body);
      toast(t("Saved."));
      showCase(c.number);
    } catch (e) {
      showProblem(form, e, (field) => {
        const name = field.replace(/^custom\./, "");
        return form.querySelector(`#case-${name}-error`) || form.querySelector(`#case-custom-${name}-error`);
      });
    }
  });
  return form;
}

function fieldInput(def, tagged, inputs) {
  const value = untagged(tagged);
  const id = `case-custom-${def.name}`;
  let input;
  const rules = [def.type, def.required ? t("required") : null, def.max_length ? t("at most {0} characters", def.max_length) : null, def.pattern ? t("pattern {0}", def.pattern) : null].filter(Boolean).join(", ");
  if (def.type === "choice") {
    input = el("select", { id }, el("option", { value: "" }, t("(none)")), def.choices.map((o) => el("option", { value: o.key, selected: o.key === value }, o.label)));
  } else if (def.type === "multi_choice") {
    input = el("select", { id, multiple: true }, def.choices.map((o) => el("option", { value: o.key, selected: (value || []).includes(o.key) }, o.label)));
  } else if (def.type === "bool") {
    input = el("input", { id, type: "checkbox", checked: value === true });
  } else {
    const type = { integer: "number", decimal: "text", date: "date", datetime: "datetime-local", email: "email", url: "url", phone: "tel" }[def.type] || "text";
    let shown = value === undefined || value === null ? "" : String(value);
    if (def.type === "datetime" && shown) shown = localInput(shown);
    input = el("input", { id, type, value: shown, maxlength: def.max_length || undefined });
  }
  input.setAttribute("aria-describedby", `${id}-rules`);
  inputs[`custom.${def.name}`] = input;
  return [el("label", { for: id }, def.label, def.required ? " *" : ""), input,
    el("p", { class: "rules", id: `${id}-rules` }, rules),
    el("p", { class: "field-error", id: `${id}-error` })];
}

/** A field's input as the API takes it, tagged with its type; undefined
 * when empty (the stored value stays). */
function readField(def, input) {
  if (!input) return undefined;
  const tag = (value) => ({ [def.type]: value });
  if (def.type === "bool") return tag(input.checked);
  if (def.type === "multi_choice") return tag([...input.selectedOptions].map((o) => o.value));
  const text = input.value.trim();
  if (!text) return undefined;
  if (def.type === "integer") return tag(Number(text));
  if (def.type === "datetime") return tag(new Date(text).toISOString());
  return tag(text);
}

async function drawFollowUps(number, cursor) {
  const box = $("follow-ups");
  const page = await api("GET", `/api/v1/cases/${number}/follow-ups?limit=10${cursor ? `&cursor=${enc(cursor)}` : ""}`);
  fill(box,
    page.items.length
      ? scrolled(el("table", {},
        el("thead", {}, el("tr", {}, [t("When"), t("Kind"), t("Author"), t("Text"), ""].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, page.items.map((f) =>
          el("tr", {},
            el("td", {}, when(f.created_at)),
            el("td", {}, f.kind),
            el("td", {}, f.author),
            el("td", { class: "clip" }, (f.body || "").slice(0, 160)),
            el("td", {}, el("a", { href: `/follow-ups/${f.id}` }, t("Open")))))), t("Follow-ups")))
      : el("p", {}, t("No follow-ups yet.")),
    el("div", { class: "pager" },
      cursor ? el("button", { type: "button", onclick: () => drawFollowUps(number) }, t("Newest")) : null,
      page.next_cursor ? el("button", { type: "button", onclick: () => drawFollowUps(number, page.next_cursor) }, t("Older")) : null));
}

async function showFollowUp(id) {
  const f = await api("GET", `/api/v1/follow-ups/${id}`);
  fill($("view"),
    heading(t("Follow-up {0} on case #{1}", f.id, f.case)),
    el("p", { class: "crumbs" }, el("a", { href: `/cases/${f.case}` }, t("Back to case #{0}", f.case))),
    el("article", { class: "card" },
      el("dl", { class: "fields" },
        el("dt", {}, t("Kind")), el("dd", {}, f.kind),
        el("dt", {}, t("Author")), el("dd", {}, f.author),
        el("dt", {}, t("When")), el("dd", {}, when(f.created_at)),
        f.email ? [el("dt", {}, t("From")), el("dd", {}, f.email.from || ""), el("dt", {}, t("Subject")), el("dd", {}, f.email.subject || "")] : null),
      el("pre", { class: "body" }, f.body),
      f.attachments.length
        ? el("section", {}, el("h2", {}, t("Attachments")), el("ul", {}, f.attachments.map((a) =>
          el("li", {}, el("a", { href: `/api/v1/attachments/${enc(a.id)}?follow_up=${f.id}`, download: a.name }, a.name), ` (${a.content_type}, ${a.size} bytes)`))))
        : null));
}

function noteForm(c) {
  const text = el("textarea", { id: "note-text", rows: 3, required: true });
  const form = el("form", { class: "card", "aria-label": t("Add a note") },
    el("h2", {}, t("Add a note")),
    el("label", { for: "note-text" }, t("Note")), text,
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit" }, t("Add the note")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", `/api/v1/cases/${c.number}/follow-ups`, { body: text.value });
      text.value = "";
      toast(t("Note added."));
      await drawFollowUps(c.number);
    } catch (e) {
      form.querySelector(".error").textContent = problemText(e);
    }
  });
  return form;
}

let faqCache = null;

/** The FAQ entries (read once per page). */
async function faqEntries() {
  if (!faqCache) {
    faqCache = api("GET", "/api/v1/faq?limit=200").then((page) => page.items || []).catch(() => []);
  }
  return faqCache;
}

async function dispositionCodes(channel) {
  if (!state.codes.has(channel)) {
    const known = await api("GET", `/api/v1/dispositions/${enc(channel)}`).catch(() => ({ codes: [] }));
    state.codes.set(channel, known.codes || []);
  }
  return state.codes.get(channel);
}

async function dispositionForm(c) {
  const interaction = (context.interaction && context.interaction.channel) ? context.interaction : { channel: "phone", direction: "inbound", case_number: c.number };
  interaction.case_number = c.number;
  const codes = await dispositionCodes(interaction.channel);
  const code = el("select", { id: "disposition-code", required: true },
    el("option", { value: "" }, t("Choose a code")),
    codes.map((k) => el("option", { value: k.code }, k.label || k.code)));
  const note = el("input", { id: "disposition-note" });
  const callbackAt = el("input", { id: "callback-at", type: "datetime-local" });
  const callbackBox = el("div", { hidden: true, class: "callback" },
    el("label", { for: "callback-at" }, t("Call back at")), callbackAt,
    el("label", { for: "callback-remind" }, t("Remind me (minutes before)")),
    el("input", { id: "callback-remind", type: "number", min: 0, value: 5 }));
  code.addEventListener("change", () => {
    callbackBox.hidden = code.value !== "callback";
    if (!callbackAt.value) {
      const soon = new Date(Date.now() + 60 * 60 * 1000 - new Date().getTimezoneOffset() * 60000);
      callbackAt.value = soon.toISOString().slice(0, 16);
    }
  });
  const form = el("form", { class: "card", "aria-label": t("Disposition") },
    el("h2", {}, t("End the {0} interaction", interaction.channel)),
    el("label", { for: "disposition-code" }, t("Disposition")), code,
    el("label", { for: "disposition-note" }, t("Note (optional)")), note,
    callbackBox,
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit" }, t("Dispose")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const done = await api("POST", "/api/v1/dispositions", { interaction, code: code.value, note: note.value || null });
      if (code.value === "callback" && callbackAt.value) {
        await api("POST", "/api/v1/tasks", {
          case: c.number,
          kind: "call",
          subject: t("Call back about case #{0}", c.number),
          due_at: new Date(callbackAt.value).toISOString(),
          reminder_minutes: Number($("callback-remind").value || 0),
          assignee: state.me.login,
        });
      }
      toast(t("Disposed {0}.", done.code || code.value));
      context = {};
      showCase(c.number);
    } catch (e) {
      form.querySelector(".error").textContent = problemText(e);
    }
  });
  return form;
}

async function drawCaseTasks(number) {
  const page = await api("GET", `/api/v1/tasks?case=${number}&limit=50`);
  fill($("case-tasks"), taskTable(page.items));
}

/** Task kinds as the API names them, and as people read them. */
const TASK_KINDS = { call: "Call", email: "Email", meeting: "Meeting", chat: "Chat", other: "Other" };

function taskKind(key) {
  return TASK_KINDS[key] ? t(TASK_KINDS[key]) : key;
}

function taskForm(c) {
  const subject = el("input", { id: "task-subject", required: true });
  const due = el("input", { id: "task-due", type: "datetime-local", required: true });
  const remind = el("input", { id: "task-remind", type: "number", min: 0, value: 15 });
  const kind = el("select", { id: "task-kind" }, Object.keys(TASK_KINDS).map((k) => el("option", { value: k }, taskKind(k))));
  const form = el("form", { class: "card", "aria-label": t("Add a task") },
    el("h2", {}, t("Add a task")),
    el("label", { for: "task-subject" }, t("Subject")), subject,
    el("label", { for: "task-kind" }, t("Kind")), kind,
    el("label", { for: "task-due" }, t("Due")), due,
    el("label", { for: "task-remind" }, t("Reminder (minutes before)")), remind,
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit" }, t("Add the task")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/v1/tasks", {
        case: c.number, kind: kind.value, subject: subject.value,
        due_at: new Date(due.value).toISOString(),
        reminder_minutes: remind.value === "" ? null : Number(remind.value),
        assignee: state.me.login,
      });
      subject.value = "";
      await drawCaseTasks(c.number);
    } catch (e) {
      form.querySelector(".error").textContent = problemText(e);
    }
  });
  return form;
}

// ----- chats --------------------------------------------------------------------

async function reloadChats() {
  try {
    const page = await api("GET", "/api/v1/chats?limit=50");
    for (const chat of page.items) {
      if (chat.state === "offered" && chat.agent === state.me.login) {
        state.offers.set(chat.id, { chat: chat.id, queue: chat.queue, deadline: chat.deadline, name: (chat.interaction.context || {}).name, email: chat.interaction.email, ip: chat.interaction.ip, pop: chat.pop });
      } else if (chat.state === "active" || (chat.state === "ended" && chat.log === "needs_customer")) {
        await openChat(chat.id, false);
      }
    }
    const offers = await api("GET", "/api/v1/email-offers");
    for (const o of offers.items || []) {
      if (o.state === "offered" && !document.querySelector(`.email-offer[aria-label="Email offer ${o.id}"]`)) {
        emailOffer({ offer: o.id, queue: o.queue, case_number: o.case_number, subject: o.subject, sender: o.sender, deadline: o.deadline });
      }
    }
  } catch (e) {
    toast(problemText(e), "error");
  }
  drawIncoming();
  drawChats();
}

async function openChat(id, focus = true) {
  const view = await api("GET", `/api/v1/chats/${id}`);
  const known = state.chats.get(id);
  state.chats.set(id, {
    chat: view.chat,
    messages: view.transcript || [],
    typingUntil: 0,
    draft: known ? known.draft : "",
    ended: view.chat.state === "ended",
  });
  if (focus) state.activeChat = id;
  else if (state.activeChat === null) state.activeChat = id;
  drawChats();
}

let lastTypingSent = 0;

function drawChats() {
  const box = $("chats");
  box.hidden = state.chats.size === 0;
  if (!state.chats.size) return fill(box);
  if (!state.chats.has(state.activeChat)) state.activeChat = state.chats.keys().next().value;
  const tabs = el("div", { role: "tablist", class: "tabs", "aria-label": t("Open chats") },
    [...state.chats.values()].map(({ chat }) =>
      el("button", {
        type: "button", role: "tab", id: `chat-tab-${chat.id}`,
        "aria-selected": chat.id === state.activeChat ? "true" : "false",
        "aria-controls": `chat-panel-${chat.id}`,
        onclick: () => { state.activeChat = chat.id; drawChats(); },
      }, (chat.state === "ended" ? t("{0} (ended)", visitorName(chat)) : visitorName(chat)))));
  const open = state.chats.get(state.activeChat);
  const previousDraft = box.querySelector("#chat-text");
  if (previousDraft && previousDraft.dataset.chat === String(state.activeChat)) open.draft = previousDraft.value;
  const hadFocus = document.activeElement && document.activeElement.id === "chat-text";
  fill(box, el("h2", {}, t("Chats ({0})", state.chats.size)), tabs, chatPanel(open));
  const text = box.querySelector("#chat-text");
  if (text && hadFocus) {
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
  }
  const transcript = box.querySelector(".transcript");
  if (transcript) transcript.scrollTop = transcript.scrollHeight;
}

function visitorName(chat) {
  const context = (chat.interaction && chat.interaction.context) || {};
  return context.name || chat.interaction.email || `Chat ${chat.id}`;
}

function chatPanel(open) {
  const { chat } = open;
  const panel = el("section", { role: "tabpanel", id: `chat-panel-${chat.id}`, "aria-labelledby": `chat-tab-${chat.id}`, class: "chat-panel" },
    el("p", { class: "chat-who" }, `${visitorName(chat)} · ${chat.interaction.email || ""} · queue ${chat.queue}`),
    chat.customer ? el("p", {}, el("a", { href: `/customers/${enc(`#${chat.customer}`)}` }, t("Open the customer's record"))) : null,
    el("ol", { class: "transcript", "aria-live": "polite", "aria-label": t("Transcript") }, open.messages.map((m) =>
      el("li", { class: `message ${m.sender}` },
        el("span", { class: "author" }, m.sender === "agent" ? t("You") : m.author), " ",
        el("time", { datetime: m.at }, when(m.at)),
        el("p", { class: "text" }, m.text)))),
    el("p", { class: "typing", hidden: open.typingUntil <= Date.now() }, t("{0} is typing…", visitorName(chat))));
  if (chat.state === "active") panel.append(composer(open), endForm(open));
  else if (chat.state === "ended") panel.append(logForm(open));
  return panel;
}

function composer(open) {
  const { chat } = open;
  const text = el("textarea", { id: "chat-text", rows: 3, dataset: { chat: chat.id }, "aria-describedby": "chat-count" });
  text.value = open.draft || "";
  const count = el("span", { id: "chat-count", class: "counter" });
  const error = el("p", { class: "error", role: "alert", id: "chat-error" }, open.error || "");
  const refuse = (message) => {
    open.error = message;
    error.textContent = message;
  };
  const showCount = () => {
    const n = length(text.value);
    count.textContent = `${n} / ${MAX_MESSAGE}`;
    count.classList.toggle("over", n > MAX_MESSAGE);
  };
  showCount();
  text.addEventListener("input", () => {
    open.draft = text.value;
    showCount();
    if (Date.now() - lastTypingSent > 2000) {
      lastTypingSent = Date.now();
      api("POST", `/api/v1/chats/${chat.id}/typing`).catch(() => {});
    }
  });
  const faq = el("select", { id: "faq-pick" }, el("option", { value: "" }, t("Insert an FAQ answer…")));
  faqEntries().then((entries) => faq.append(...entries.map((f) => el("option", { value: f.shortcut }, `/${f.shortcut}: ${f.title}`))));
  faq.addEventListener("change", async () => {
    const entry = (await faqEntries()).find((f) => f.shortcut === faq.value);
    faq.value = "";
    if (!entry) return;
    const at = text.selectionStart ?? text.value.length;
    text.value = text.value.slice(0, at) + entry.body + text.value.slice(text.selectionEnd ?? at);
    text.dispatchEvent(new Event("input"));
    text.focus();
  });
  const form = el("form", { class: "composer", "aria-label": t("Write to the customer") },
    el("label", { for: "chat-text" }, t("Message (a /shortcut is replaced by its FAQ answer when sent)")), text, count, error,
    el("label", { for: "faq-pick" }, t("FAQ")), faq,
    el("button", { type: "submit", class: "primary" }, t("Send")));
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    refuse("");
    if (!text.value.trim()) return;
    if (length(text.value) > MAX_MESSAGE) {
      refuse(t("The message is {0} characters; a chat message holds at most {1}. Shorten it; your text is kept.", length(text.value), MAX_MESSAGE));
      return;
    }
    try {
      const sent = await api("POST", `/api/v1/chats/${chat.id}/messages`, { text: text.value, expand: "text" });
      if (sent && sent.id && !open.messages.some((m) => m.id === sent.id)) open.messages.push(sent);
      // The panel may have been drawn again while the message went out:
      // clear the text box that is in the page now.
      open.draft = "";
      const current = $("chat-text");
      if (current) current.value = "";
      drawChats();
      if ($("chat-text")) $("chat-text").focus();
    } catch (e) {
      refuse(t("{0} Your text is kept.", problemText(e)));
    }
  });
  return form;
}

function endForm(open) {
  const { chat } = open;
  const code = el("select", { id: "chat-disposition" }, el("option", { value: "" }, t("Choose a code")));
  dispositionCodes("chat").then((codes) => code.append(...codes.map((k) => el("option", { value: k.code }, k.label || k.code))));
  const note = el("input", { id: "chat-note" });
  const form = el("form", { class: "end", "aria-label": t("End the chat") },
    el("label", { for: "chat-disposition" }, t("Disposition")), code,
    el("label", { for: "chat-note" }, t("Note")), note,
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit" }, t("End the chat")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const ended = await api("POST", `/api/v1/chats/${chat.id}/end`, { disposition: code.value || null, note: note.value || null });
      open.ended = true;
      open.chat = ended.chat || { ...chat, state: "ended" };
      if (ended.log && ended.log.case) open.chat.case_number = ended.log.case.number;
      drawChats();
    } catch (e) {
      form.querySelector(".error").textContent = problemText(e);
    }
  });
  return form;
}

function logForm(open) {
  const { chat } = open;
  if (chat.case_number) {
    return el("div", { class: "logged" },
      el("p", {}, t("The chat's log is saved as "), el("a", { href: `/cases/${chat.case_number}` }, `case #${chat.case_number}`), "."),
      el("button", { type: "button", onclick: () => { state.chats.delete(chat.id); drawChats(); } }, t("Close the tab")));
  }
  const mode = el("select", { id: "log-mode" },
    chat.customer ? el("option", { value: "popped" }, t("The customer the pop found")) : null,
    el("option", { value: "existing" }, t("An existing customer (account number)")),
    el("option", { value: "new" }, t("A new customer")));
  const account = el("input", { id: "log-account" });
  const name = el("input", { id: "log-name", value: (chat.interaction.context || {}).name || "" });
  const email = el("input", { id: "log-email", type: "email", value: chat.interaction.email || "" });
  const newBox = el("div", { class: "new-customer" },
    el("label", { for: "log-name" }, t("Name")), name,
    el("label", { for: "log-email" }, t("Email")), email);
  const sync = () => { newBox.hidden = mode.value !== "new"; };
  mode.addEventListener("change", sync);
  sync();
  const form = el("form", { class: "log", "aria-label": t("Save the chat's log") },
    el("h3", {}, t("Save the log as a case")),
    el("label", { for: "log-mode" }, t("For")), mode,
    el("label", { for: "log-account" }, t("Account number")), account,
    newBox,
    el("p", { class: "error", role: "alert" }),
    el("button", { type: "submit", class: "primary" }, t("Save the log")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let body = {};
    if (mode.value === "existing") body = { customer: account.value.trim() };
    if (mode.value === "new") body = { new_customer: { account: account.value.trim(), name: name.value.trim(), email: email.value.trim() || null } };
    try {
      const saved = await api("POST", `/api/v1/chats/${chat.id}/log`, body);
      open.chat.case_number = saved.case.number;
      toast(t("The log is saved as case #{0}.", saved.case.number));
      drawChats();
    } catch (e) {
      form.querySelector(".error").textContent = problemText(e);
    }
  });
  return form;
}

async function showChatList() {
  const page = await api("GET", "/api/v1/chats?limit=50");
  fill($("view"), heading(t("My chats")),
    page.items.length
      ? scrolled(el("table", {},
        el("thead", {}, el("tr", {}, [t("Chat"), t("Visitor"), t("State"), t("Arrived"), t("Case")].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, page.items.map((c) => el("tr", {},
          el("td", {}, String(c.id)), el("td", {}, visitorName(c)), el("td", {}, c.state),
          el("td", {}, when(c.arrived_at)),
          el("td", {}, c.case_number ? el("a", { href: `/cases/${c.case_number}` }, `#${c.case_number}`) : "")))), t("Chats")))
      : el("p", {}, t("No chats.")));
}

start();

// ----- email: the workbin, offers, the email window, drafts -------------------

function emailOffer(d) {
  if (document.querySelector(`.email-offer[aria-label="Email offer ${d.offer}"]`)) return;
  const card = el("article", { class: "card offer email-offer", "aria-label": `Email offer ${d.offer}` },
    el("h2", {}, t("Incoming email")),
    el("dl", {},
      el("dt", {}, t("From")), el("dd", {}, d.sender),
      el("dt", {}, t("Subject")), el("dd", { class: "subject" }, d.subject),
      el("dt", {}, t("Queue")), el("dd", {}, d.queue),
      el("dt", {}, t("Case")), el("dd", {}, `#${d.case_number}`)),
    el("p", {}, countdown(d.deadline)),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "primary accept", onclick: async () => {
        try {
          const accepted = await api("POST", `/api/v1/email-offers/${d.offer}/accept`);
          for (const same of document.querySelectorAll(`.email-offer[aria-label="Email offer ${d.offer}"]`)) same.remove();
          go(`/workbin/${accepted.workbin.id}`);
        } catch (e) {
          toast(problemText(e), "error");
        }
      } }, t("Accept")),
      may("reject_chat")
        ? el("button", { type: "button", class: "reject", onclick: async () => {
          try {
            await api("POST", `/api/v1/email-offers/${d.offer}/reject`);
            card.remove();
            toast(t("You rejected the email; you are on break."), "warn");
          } catch (e) {
            toast(problemText(e), "error");
          }
        } }, t("Reject"))
        : null));
  $("incoming").prepend(card);
}

function mailbox(m) {
  if (!m) return "";
  return m.name ? `${m.name} <${m.address}>` : m.address;
}

async function showWorkbin() {
  const page = await api("GET", "/api/v1/workbin");
  fill($("view"), heading(t("My workbin")),
    page.items.length
      ? scrolled(el("table", {},
        el("thead", {}, el("tr", {}, [t("Subject"), t("From"), t("Case"), t("Why"), t("Added")].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, page.items.map((i) => el("tr", {},
          el("td", {}, el("a", { href: `/workbin/${i.id}` }, i.draft ? t("Draft: {0}", i.subject) : i.subject)),
          el("td", {}, mailbox(i.from)),
          el("td", {}, el("a", { href: `/cases/${i.case_number}` }, `#${i.case_number}`)),
          el("td", {}, i.reason),
          el("td", {}, when(i.added_at)))))), t("Workbin"))
      : el("p", {}, t("Your workbin is empty.")));
}

async function showWorkbinItem(id) {
  const { entry, email } = await api("GET", `/api/v1/workbin/${id}`);
  if (entry.draft) return showDraft(entry.draft, entry);
  if (!email) throw new ApiError(404, { detail: t("Not found") });
  const headers = email.email || {};
  const context = await api("GET", `/api/v1/emails/${email.id}/context`).catch(() => null);
  const view = $("view");
  fill(view,
    heading(headers.subject || `Email ${email.id}`),
    el("p", { class: "crumbs" }, el("a", { href: `/cases/${email.case}` }, t("Case #{0}", email.case)), " · ", entry.reason),
    el("section", { class: "card email", "aria-label": t("The email") },
      el("dl", { class: "fields" },
        el("dt", {}, t("From")), el("dd", { class: "from" }, mailbox(headers.from)),
        el("dt", {}, t("To")), el("dd", {}, (headers.to || []).map(mailbox).join(", ")),
        headers.cc && headers.cc.length ? [el("dt", {}, t("Cc")), el("dd", {}, headers.cc.map(mailbox).join(", "))] : null,
        el("dt", {}, t("Date")), el("dd", {}, when(headers.date || email.created_at))),
      el("pre", { class: "body" }, email.body),
      email.attachments.length
        ? el("ul", {}, email.attachments.map((a) =>
          el("li", {}, el("a", { href: `/api/v1/attachments/${enc(a.id)}?follow_up=${email.id}`, download: a.name }, a.name))))
        : null),
    emailActions(entry, email, context),
    context ? contextData(context) : null,
    el("section", { class: "card" }, el("h2", {}, t("The case's thread")), el("div", { id: "follow-ups" })));
  await drawFollowUps(email.case);
}

function contextData(context) {
  const rows = [];
  const add = (label, value) => rows.push(el("dt", {}, label), el("dd", {}, value));
  if (context.customer) {
    add(t("Customer"), `${context.customer.name} (${context.customer.account})`);
    for (const [name, value] of Object.entries(context.customer.custom || {})) add(name, shownValue(value));
  }
  if (context.case) {
    add(t("Case status"), context.case.status);
    for (const [name, value] of Object.entries(context.case.custom || {})) add(name, shownValue(value));
  }
  if (context.email && context.email.threaded_by) add(t("Threaded"), context.email.threaded_by);
  return el("section", { class: "card", "aria-label": t("Context data") }, el("h2", {}, t("Context data")), el("dl", { class: "fields" }, rows));
}

function emailActions(entry, email, context) {
  const status = el("p", { class: "error", role: "alert" });
  const run = async (what) => {
    status.textContent = "";
    try {
      await what();
    } catch (e) {
      status.textContent = problemText(e);
    }
  };
  const starts = {
    reply: `/api/v1/emails/${email.id}/reply`,
    "reply-all": `/api/v1/emails/${email.id}/reply-all`,
    forward: `/api/v1/emails/${email.id}/forward`,
  };
  const startDraft = (kind, body = {}) => run(async () => {
    const draft = await api("POST", starts[kind], body);
    go(`/drafts/${draft.id}`);
  });
  const panel = el("div", { class: "subpanel" });
  const open = (...children) => fill(panel, ...children);
  const forwardForm = () => {
    const to = el("input", { id: "forward-to", type: "email", required: true });
    const note = el("textarea", { id: "forward-note", rows: 2 });
    const form = el("form", { "aria-label": t("Forward") },
      el("label", { for: "forward-to" }, t("Forward to")), to,
      el("label", { for: "forward-note" }, t("Note")), note,
      el("button", { type: "submit" }, t("Write the forward")));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); startDraft("forward", { to: [to.value], note: note.value || null }); });
    open(form);
    to.focus();
  };
  const transferForm = () => {
    const agent = el("input", { id: "transfer-agent" });
    const group = el("input", { id: "transfer-group" });
    const note = el("textarea", { id: "transfer-note", rows: 2, required: true });
    const form = el("form", { "aria-label": t("Transfer") },
      el("label", { for: "transfer-agent" }, t("To the agent (login)")), agent,
      el("label", { for: "transfer-group" }, "or to the group"), group,
      el("label", { for: "transfer-note" }, t("Note")), note,
      el("button", { type: "submit" }, t("Transfer")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(async () => {
        await api("POST", `/api/v1/emails/${email.id}/transfer`, { to_agent: agent.value || null, to_group: group.value || null, note: note.value });
        toast(t("Transferred."));
        go("/workbin");
      });
    });
    open(form);
    agent.focus();
  };
  const consultForm = () => {
    const colleague = el("input", { id: "consult-colleague", required: true });
    const question = el("textarea", { id: "consult-question", rows: 2, required: true });
    const form = el("form", { "aria-label": t("Consult") },
      el("label", { for: "consult-colleague" }, t("Colleague (login or address)")), colleague,
      el("label", { for: "consult-question" }, t("Question")), question,
      el("button", { type: "submit" }, t("Ask")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(async () => {
        await api("POST", `/api/v1/emails/${email.id}/consult`, { colleague: colleague.value, question: question.value });
        toast(t("Your colleague was asked."));
        drawFollowUps(email.case);
      });
    });
    open(form);
    colleague.focus();
  };
  const noteForm = () => {
    const text = el("textarea", { id: "email-note", rows: 2, required: true });
    const form = el("form", { "aria-label": t("Note") },
      el("label", { for: "email-note" }, t("Note on the case")), text,
      el("button", { type: "submit" }, t("Add the note")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(async () => {
        await api("POST", `/api/v1/cases/${email.case}/follow-ups`, { body: text.value });
        text.value = "";
        toast(t("Note added."));
        drawFollowUps(email.case);
      });
    });
    open(form);
    text.focus();
  };
  const disposeForm = async () => {
    const codes = await dispositionCodes("email");
    const code = el("select", { id: "email-disposition" }, el("option", { value: "" }, t("Choose a code")),
      codes.map((k) => el("option", { value: k.code }, k.label || k.code)));
    const form = el("form", { "aria-label": t("Disposition") },
      el("label", { for: "email-disposition" }, t("Disposition")), code,
      el("button", { type: "submit" }, t("Dispose")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(async () => {
        await api("POST", "/api/v1/dispositions", {
          interaction: { channel: "email", direction: "inbound", email: (email.email && email.email.from && email.email.from.address) || null, case_number: email.case },
          code: code.value,
        });
        toast(t("Disposed {0}.", code.value));
      });
    });
    open(form);
    code.focus();
  };
  const phone = el("span", { class: "call" });
  if (context && context.customer) {
    api("GET", `/api/v1/customers/${enc(context.customer.account)}`)
      .then((c) => {
        const number = c.phones && c.phones[0] && c.phones[0].number;
        if (number) fill(phone, el("a", { href: `tel:${number}`, class: "button" }, t("Call {0}", number)));
      })
      .catch(() => {});
  }
  return el("section", { class: "card", "aria-label": t("Email actions") },
    el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => startDraft("reply") }, t("Reply")),
      el("button", { type: "button", onclick: () => startDraft("reply-all") }, t("Reply all")),
      el("button", { type: "button", onclick: forwardForm }, t("Forward")),
      may("transfer_email") ? el("button", { type: "button", onclick: transferForm }, t("Transfer")) : null,
      el("button", { type: "button", onclick: consultForm }, t("Consult")),
      el("button", { type: "button", onclick: noteForm }, t("Note")),
      el("button", { type: "button", onclick: disposeForm }, t("Disposition")),
      entry.done_at
        ? el("button", { type: "button", onclick: () => run(async () => {
          await api("POST", "/api/v1/workbin", { follow_up: email.id });
          toast(t("Saved to your workbin."));
        }) }, t("Save to workbin"))
        : el("button", { type: "button", onclick: () => run(async () => {
          await api("POST", `/api/v1/workbin/${entry.id}/done`);
          toast(t("Done: it left your workbin."));
          go("/workbin");
        }) }, t("Done")),
      phone),
    panel, status);
}

/** Addresses as the API takes them, from a comma-separated field. */
function addresses(text) {
  return text.split(",").map((a) => a.trim()).filter(Boolean);
}

async function upload(path, file) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "x-csrf-token": state.csrf || "", "content-type": file.type || "application/octet-stream" },
    body: file,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function showDraft(id) {
  const draft = await api("GET", `/api/v1/drafts/${id}`);
  const signatures = await api("GET", "/api/v1/signatures").then((p) => p.items || []).catch(() => []);
  const view = $("view");
  const field = (name, label, value, attrs = {}) => {
    const input = el("input", { id: `draft-${name}`, value: value || "", ...attrs });
    return [input, [el("label", { for: `draft-${name}` }, label), input, el("p", { class: "field-error", id: `draft-${name}-error` })]];
  };
  const [from, fromRow] = field("from", t("From"), mailbox(draft.from), { maxlength: 254 });
  const [to, toRow] = field("to", t("To (separate addresses with commas)"), draft.to.map(mailbox).join(", "), { list: "draft-addresses" });
  const [cc, ccRow] = field("cc", t("Cc"), draft.cc.map(mailbox).join(", "), { list: "draft-addresses" });
  const [bcc, bccRow] = field("bcc", t("Bcc"), draft.bcc.map(mailbox).join(", "), { list: "draft-addresses" });
  // The case's addresses to pick from: its customer's, and everyone on
  // the draft.
  const known = el("datalist", { id: "draft-addresses" });
  const offer = (address) => {
    if (address && ![...known.options].some((o) => o.value === address)) known.append(el("option", { value: address }));
  };
  [...draft.to, ...draft.cc, ...draft.bcc].forEach((m) => offer(mailbox(m)));
  api("GET", `/api/v1/cases/${draft.case_number}`)
    .then((c) => customerById(c.customer))
    .then((customer) => customer.emails.forEach((m) => offer(m.address)))
    .catch(() => {});
  const [subject, subjectRow] = field("subject", t("Subject"), draft.subject);
  const body = el("textarea", { id: "draft-body", rows: 12 });
  body.value = draft.body;
  // Rich text, when the admin allows it: the HTML is sanitized by the
  // server when saved, and shown back in a frame that runs nothing.
  const richText = Boolean(state.schema && state.schema.rich_text);
  const html = el("textarea", { id: "draft-html", rows: 8, "aria-describedby": "draft-html-help" });
  html.value = draft.html || "";
  const preview = el("iframe", { sandbox: "", title: t("The HTML as it will be sent"), class: "preview-frame" });
  const showPreview = (sanitized) => {
    preview.setAttribute("srcdoc", sanitized || "");
    preview.hidden = !sanitized;
  };
  showPreview(draft.html);
  const signature = el("select", { id: "draft-signature" }, el("option", { value: "" }, t("(none)")),
    signatures.map((s) => el("option", { value: s.name, selected: s.name === draft.signature }, s.name)));
  const faq = el("select", { id: "draft-faq" }, el("option", { value: "" }, t("Insert an FAQ entry…")));
  faqEntries().then((entries) => faq.append(...entries.map((f) => el("option", { value: f.shortcut }, `/${f.shortcut}: ${f.title}`))));
  const faqMode = el("select", { id: "draft-faq-mode" }, el("option", { value: "text" }, "as text"), el("option", { value: "link" }, "as a link"));
  faq.addEventListener("change", () => {
    if (!faq.value) return;
    const at = body.selectionStart ?? body.value.length;
    body.value = `${body.value.slice(0, at)}/${faq.value} ${body.value.slice(at)}`;
    faq.value = "";
    body.focus();
  });
  const files = el("input", { id: "draft-files", type: "file", multiple: true });
  const images = el("input", { id: "draft-images", type: "file", accept: "image/*", multiple: true });
  const alt = el("input", { id: "draft-alt" });
  const attached = el("ul", { class: "attachments" }, draft.attachments.map((a) => el("li", {}, `${a.name} (${a.size} bytes)`)));
  const error = el("p", { class: "error", role: "alert" });
  const content = () => ({
    ...(richText && html.value.trim() ? { html: html.value } : {}),
    from: from.value.trim() || null,
    to: addresses(to.value),
    cc: addresses(cc.value),
    bcc: addresses(bcc.value),
    subject: subject.value,
    body: body.value,
    signature: signature.value || null,
    expand: faqMode.value,
  });
  const form = el("form", { class: "card draft", "aria-label": t("Email editor") });
  const fieldError = (name) => form.querySelector(`#draft-${name}-error`);
  const act = (what) => async () => {
    error.textContent = "";
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    try {
      await what();
    } catch (e) {
      showProblem(form, e, fieldError);
    }
  };
  const save = async () => {
    const saved = await api("PATCH", `/api/v1/drafts/${id}`, content());
    if (richText) showPreview(saved.html);
    return saved;
  };
  const addFiles = async (list, image) => {
    for (const file of list) {
      const path = image
        ? `/api/v1/drafts/${id}/images?name=${enc(file.name)}&alt=${enc(alt.value || file.name)}`
        : `/api/v1/drafts/${id}/attachments?name=${enc(file.name)}`;
      const updated = await upload(path, file);
      fill(attached, (updated.attachments || []).map((a) => el("li", {}, `${a.name} (${a.size} bytes)`)));
    }
  };
  files.addEventListener("change", act(() => addFiles(files.files, false)));
  images.addEventListener("change", act(() => addFiles(images.files, true)));
  form.addEventListener("dragover", (ev) => ev.preventDefault());
  form.addEventListener("drop", (ev) => {
    ev.preventDefault();
    const dropped = [...ev.dataTransfer.files];
    act(async () => {
      await addFiles(dropped.filter((f) => f.type.startsWith("image/")), true);
      await addFiles(dropped.filter((f) => !f.type.startsWith("image/")), false);
    })();
  });
  body.addEventListener("paste", (ev) => {
    const pasted = [...(ev.clipboardData ? ev.clipboardData.files : [])].filter((f) => f.type.startsWith("image/"));
    if (pasted.length) {
      ev.preventDefault();
      act(() => addFiles(pasted, true))();
    }
  });
  fill(form,
    el("p", { class: "state" }, t("State: {0}", draft.state)),
    draft.remarks ? el("p", { class: "notice remarks", role: "status" }, t("Reviewer's remarks: {0}", draft.remarks)) : null,
    el("div", { class: "grid" }, fromRow, toRow, ccRow, bccRow, subjectRow),
    known,
    el("label", { for: "draft-body" }, t("Message")), body,
    el("p", { class: "field-error", id: "draft-body-error" }),
    richText
      ? [el("label", { for: "draft-html" }, t("Rich text (HTML, optional)")), html,
        el("p", { class: "rules", id: "draft-html-help" }, t("Scripts, forms and frames are removed when it is saved; images by URL stay links.")),
        el("p", { class: "field-error", id: "draft-html-error" }),
        preview]
      : null,
    el("div", { class: "grid" },
      el("label", { for: "draft-signature" }, t("Signature")), signature,
      el("label", { for: "draft-faq" }, t("FAQ")), faq,
      el("label", { for: "draft-faq-mode" }, t("Insert FAQ entries")), faqMode,
      el("label", { for: "draft-files" }, t("Attach files (20 MB each)")), files,
      el("label", { for: "draft-images" }, t("Add images (10 MB each)")), images,
      el("label", { for: "draft-alt" }, t("Images' alternative text")), alt),
    el("p", {}, t("Or drop files on the editor, or paste an image into the message.")),
    el("h3", {}, t("Attachments")), attached,
    error,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "save-draft", onclick: act(async () => { await save(); toast(t("Draft kept in your workbin.")); }) }, t("Save as draft")),
      el("button", { type: "button", class: "save", onclick: act(async () => { await save(); await api("POST", `/api/v1/drafts/${id}/save`); toast(t("Saved on the case.")); go(`/cases/${draft.case_number}`); }) }, t("Save")),
      el("button", { type: "button", class: "primary send", onclick: act(async () => {
        // Asked for here, on the field, before anything is sent.
        const missing = [["from", from, t("Fill in From: the address the email is sent from.")],
          ["to", to, t("Fill in To: whom the email is for.")]].find(([, input]) => !input.value.trim());
        if (missing) {
          const [name, input, message] = missing;
          fieldError(name).textContent = message;
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", `draft-${name}-error`);
          input.focus();
          return;
        }
        await save();
        const sent = await api("POST", `/api/v1/drafts/${id}/send`);
        toast(sent.state === "in_review" ? t("Sent to review.") : t("Sent."));
        go("/workbin");
      }) }, t("Send")),
      el("button", { type: "button", class: "discard", onclick: act(async () => { await api("DELETE", `/api/v1/drafts/${id}`); toast(t("Discarded.")); go("/workbin"); }) }, t("Discard"))));
  fill(view, heading(t("Draft: {0}", draft.subject || t("(no subject)"))),
    el("p", { class: "crumbs" }, el("a", { href: `/cases/${draft.case_number}` }, t("Case #{0}", draft.case_number))),
    form);
}

// ----- QA review ----------------------------------------------------------------

async function showReviewQueue() {
  const page = await api("GET", "/api/v1/review");
  fill($("view"), heading(t("Review queue")),
    page.items.length
      ? scrolled(el("table", {},
        el("thead", {}, el("tr", {}, [t("Subject"), t("Author"), t("Case"), t("Updated")].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, page.items.map((d) => el("tr", {},
          el("td", {}, el("a", { href: `/review/${d.id}` }, d.subject || t("(no subject)"))),
          el("td", {}, d.agent),
          el("td", {}, el("a", { href: `/cases/${d.case_number}` }, `#${d.case_number}`)),
          el("td", {}, when(d.updated_at)))))), t("Review queue"))
      : el("p", {}, t("Nothing waits for review.")));
}

async function showReview(id) {
  const { draft, review } = await api("GET", `/api/v1/review/${id}`);
  const remarks = el("textarea", { id: "review-remarks", rows: 3 });
  const body = el("textarea", { id: "review-body", rows: 10 });
  body.value = draft.body;
  const error = el("p", { class: "error", role: "alert" });
  const act = (what) => async () => {
    error.textContent = "";
    try {
      await what();
    } catch (e) {
      error.textContent = problemText(e);
    }
  };
  fill($("view"), heading(t("Review: {0}", draft.subject || t("(no subject)"))),
    el("section", { class: "card" },
      el("dl", { class: "fields" },
        el("dt", {}, t("Author")), el("dd", {}, draft.agent),
        el("dt", {}, t("From")), el("dd", {}, mailbox(draft.from)),
        el("dt", {}, t("To")), el("dd", {}, draft.to.map(mailbox).join(", ")),
        el("dt", {}, t("Attachments")), el("dd", {}, draft.attachments.map((a) => a.name).join(", ") || "none")),
      el("label", { for: "review-body" }, t("Text (a reviewer may edit it)")), body,
      el("label", { for: "review-remarks" }, t("Remarks (needed to reject)")), remarks,
      error,
      el("div", { class: "actions" },
        el("button", { type: "button", class: "primary approve", onclick: act(async () => {
          if (body.value !== draft.body) await api("PATCH", `/api/v1/drafts/${id}`, { body: body.value });
          await api("POST", `/api/v1/review/${id}/approve`);
          toast(t("Approved: it is sent."));
          go("/review");
        }) }, t("Approve")),
        el("button", { type: "button", class: "reject", onclick: act(async () => {
          await api("POST", `/api/v1/review/${id}/reject`, { remarks: remarks.value });
          toast(t("Rejected: back to its author."));
          go("/review");
        }) }, t("Reject")))),
    el("section", { class: "card" }, el("h2", {}, t("History")),
      el("ol", { class: "history" }, (review || []).map((s) =>
        el("li", {}, `${when(s.at)}: ${s.step} by ${s.by}`, s.remarks ? ` (${s.remarks})` : "")))));
}

// ----- the agent's queues ---------------------------------------------------------

async function showQueues() {
  const page = await api("GET", "/api/v1/queues");
  const mine = page.items.filter((q) => q.members.some((m) => m.login === state.me.login));
  fill($("view"), heading(t("My queues")),
    may("manage_own_queues") ? null : el("p", { class: "notice" }, t("Your admin switches your queues on and off.")),
    mine.length
      ? el("ul", { class: "queues" }, mine.map((q) => {
        const member = q.members.find((m) => m.login === state.me.login);
        const box = el("input", { type: "checkbox", id: `queue-${q.name}`, checked: member.joined, disabled: !may("manage_own_queues") });
        box.addEventListener("change", async () => {
          try {
            await api("PUT", `/api/v1/queues/${enc(q.name)}/members/me`, { joined: box.checked });
            toast(t("{0}: {1}", box.checked ? t("Switched on") : t("Switched off"), q.name));
          } catch (e) {
            box.checked = !box.checked;
            toast(problemText(e), "error");
          }
        });
        return el("li", {}, box, " ", el("label", { for: `queue-${q.name}`, class: "inline" }, `${q.name} (${q.channel})`));
      }))
      : el("p", {}, t("You are in no queue.")));
}
