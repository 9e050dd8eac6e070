// Helpers the desktop and the widget share. Every text from the server
// goes into the page through `textContent` (by `el`), never as markup, so
// a name or a message holding `<script>` shows as those characters.

import { lang } from "/assets/i18n.js";

/** The longest chat message, in characters (Unicode code points). */
export const MAX_MESSAGE = 1940;

/**
 * Makes an element: `attrs` are attributes (`class`, `for`, `href`, ...;
 * `on*` keys are event listeners, `hidden`/`disabled` booleans), children
 * are nodes or strings (strings become text).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `node` holds with `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** The number of characters the server counts in `text`. */
export function length(text) {
  return [...text].length;
}

let zone;

/** Shows times in `name`, an IANA zone (the store's `[time] zone`). */
export function setZone(name) {
  try {
    new Intl.DateTimeFormat(lang, { timeZone: name });
    zone = name;
  } catch {
    zone = undefined;
  }
}

/** A time as people read it: in the page's language, in the store's zone
 * once `setZone` was told it (else the browser's). */
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short", timeZone: zone });
}

/** The hour and minute of `iso`, as `when` zones it. */
export function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", timeZone: zone });
}

/** An API error: the problem document's code and message. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = problem && problem.code;
    this.problem = problem || {};
  }
}

/**
 * Calls the API: `method` on `path` with `body` as JSON; `headers` adds
 * to them. Answers the parsed JSON (or null on 204) or throws ApiError.
 */
export async function call(method, path, body, headers = {}) {
  const init = { method, headers: { accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { detail: "The server cannot be reached. Check the connection and try again.", code: "offline" });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
