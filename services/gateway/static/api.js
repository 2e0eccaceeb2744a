// The REST API as the page uses it: bearer token, google.rpc.Status errors, SSE over fetch.

export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// The token's subject, for display only: the server verifies the token, not this page.
export function subjectOf(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return "";
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims.sub === "string" ? claims.sub : "";
  } catch {
    return "";
  }
}

export function randomId() {
  // crypto.randomUUID needs a secure context; getRandomValues does not.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

// A failed response as an ApiError with the google.rpc.Status message. A stream that
// fails before its first event carries the Status as an SSE `error` event.
async function errorOf(response) {
  const text = await response.text().catch(() => "");
  let message = "";
  try {
    const sse = /^(event|data):/m.test(text) ? parseEvent(text.split(/\r?\n\r?\n/)[0]) : null;
    const parsed = JSON.parse(sse ? sse.data : text);
    // A Status, or NDJSON's `{"error": Status}` envelope.
    const status = parsed && parsed.error && typeof parsed.error === "object" ? parsed.error : parsed;
    if (status && typeof status.message === "string") message = status.message;
  } catch { /* not JSON: fall back to the HTTP status line */ }
  if (!message) message = `${response.status} ${response.statusText}`.trim();
  const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return new ApiError(response.status, message, Number.isFinite(retry) ? retry : null);
}

// `event: result` / `event: error` events with JSON data, as they arrive.
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let match;
    while ((match = /\r?\n\r?\n/.exec(buffer))) {
      const parsed = parseEvent(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
      if (parsed) yield { event: parsed.event, data: JSON.parse(parsed.data) };
    }
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  async send(method, path, { accept = "application/json", json } = {}) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: accept };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        cache: "no-store",
        body: json === undefined ? undefined : JSON.stringify(json),
      });
    } catch {
      throw new ApiError(0, "The gateway did not answer. Is todochat running?", null);
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async get(path) {
    return (await this.send("GET", path)).json();
  }

  // POST /api/chat:stream: yields each StreamChatResponse; an `error` event throws.
  // (EventSource cannot POST, so this reads the body stream itself.)
  async* streamChat(request) {
    const response = await this.send("POST", "/api/chat:stream", {
      accept: "text/event-stream",
      json: request,
    });
    for await (const { event, data } of sseEvents(response.body)) {
      if (event === "error") throw new ApiError(200, data.message || "The turn failed.", null);
      yield data;
    }
  }
}
