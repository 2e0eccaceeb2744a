// The chat page: talks to TodoBot through the gateway's public REST API only.
// All text from the server goes through textContent, never innerHTML.
"use strict";

(() => {
  const TOKEN_KEY = "todochat.token";
  const conversationKey = (sub) => `todochat.conversation.${sub}`;
  const $ = (id) => document.getElementById(id);

  const state = { token: "", sub: "", conversationId: "", streaming: false };

  // ---------- storage (may be unavailable, e.g. some private windows) ----------
  const store = {
    get(key) {
      try { return localStorage.getItem(key) || ""; } catch { return ""; }
    },
    set(key, value) {
      try {
        if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
      } catch { /* the page still works for this visit */ }
    },
  };

  // ---------- small DOM helpers ----------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showText(id, text) {
    const node = $(id);
    node.textContent = text;
    node.hidden = !text;
  }

  function formatTime(value) {
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return "";
    const sameDay = date.toDateString() === new Date().toDateString();
    return sameDay
      ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : date.toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function truncate(text, max) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  function randomId() {
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---------- the token ----------
  function subjectOf(token) {
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

  // `/chat#token=…`: the fragment never reaches a server; keep the token, clear the URL.
  function takeTokenFromFragment() {
    const fragment = location.hash.replace(/^#/, "");
    if (!fragment) return;
    const params = new URLSearchParams(fragment);
    const token = params.get("token");
    if (token === null) return;
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    if (token) store.set(TOKEN_KEY, token.trim());
  }

  function useToken(token) {
    const sub = token ? subjectOf(token) : "";
    if (token && !sub) {
      showText("token-error", "That does not look like a token: it has no subject (sub).");
      return false;
    }
    showText("token-error", "");
    state.token = token;
    state.sub = sub;
    store.set(TOKEN_KEY, token);
    $("who").textContent = sub ? `Signed in as ${sub}` : "not signed in";
    $("token-panel").hidden = Boolean(sub);
    $("token-toggle").setAttribute("aria-expanded", String(!sub));
    openConversation(sub ? store.get(conversationKey(sub)) : "");
    refreshConversations();
    refreshTasks();
    return true;
  }

  function askForToken(message) {
    $("token-panel").hidden = false;
    $("token-toggle").setAttribute("aria-expanded", "true");
    showText("token-error", message);
    $("token-input").focus();
  }

  // ---------- the REST API ----------
  class ApiError extends Error {
    constructor(status, message, retryAfter) {
      super(message);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  function headers(extra) {
    return { Authorization: `Bearer ${state.token}`, ...extra };
  }

  // The data of the first SSE event in `text`, or null when it is not SSE.
  function firstEventData(text) {
    if (!/^(event|data):/m.test(text)) return null;
    const block = text.split(/\r?\n\r?\n/)[0];
    return block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
  }

  // A failed response as an ApiError carrying the google.rpc.Status message.
  async function errorOf(response) {
    const text = await response.text().catch(() => "");
    let message = "";
    try {
      const status = JSON.parse(firstEventData(text) ?? text);
      if (status && typeof status.message === "string") message = status.message;
    } catch { /* not JSON: fall back to the HTTP status */ }
    if (!message) message = `${response.status} ${response.statusText}`.trim();
    const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    return new ApiError(response.status, message, Number.isFinite(retry) ? retry : null);
  }

  async function send(method, path, options = {}) {
    let response;
    try {
      response = await fetch(path, {
        method,
        cache: "no-store",
        headers: headers(options.headers || { Accept: "application/json" }),
        body: options.body,
        signal: options.signal,
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, "The gateway did not answer. Is todochat running?", null);
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async function getJson(path) {
    return (await send("GET", path)).json();
  }

  function describe(err) {
    if (err.status === 401) {
      askForToken(`Your token was not accepted: ${err.message}. Paste a new one.`);
      return `Not signed in: ${err.message}`;
    }
    if (err.status === 429) {
      const wait = err.retryAfter !== null ? ` Try again in ${err.retryAfter} s.` : "";
      return `Too many requests: ${err.message}.${wait}`;
    }
    return err.message || String(err);
  }

  // ---------- conversations ----------
  async function refreshConversations() {
    const list = $("conversation-list");
    if (!state.sub) {
      list.replaceChildren();
      $("conversations-empty").hidden = false;
      return;
    }
    try {
      const conversations = await getJson("/api/conversations?limit=50");
      list.replaceChildren(...conversations.map(conversationItem));
      $("conversations-empty").hidden = conversations.length > 0;
    } catch (err) {
      showText("chat-error", describe(err));
    }
  }

  function conversationItem(conversation) {
    const item = el("li");
    const button = el("button", "conversation");
    button.type = "button";
    button.dataset.id = conversation.id;
    if (conversation.id === state.conversationId) button.setAttribute("aria-current", "true");
    button.append(
      el("span", "conversation-title", conversation.title || "Untitled"),
      el("span", "conversation-preview", truncate(conversation.last_message || "", 90)),
      el("time", "conversation-time", formatTime(conversation.updated_at)),
    );
    button.addEventListener("click", () => openConversation(conversation.id));
    item.append(button);
    return item;
  }

  function markCurrent() {
    for (const button of document.querySelectorAll(".conversation")) {
      if (button.dataset.id === state.conversationId) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  function setConversation(id, title) {
    state.conversationId = id;
    if (state.sub) store.set(conversationKey(state.sub), id);
    $("chat-heading").textContent = title || "New chat";
    markCurrent();
  }

  async function openConversation(id) {
    if (state.streaming) return;
    showText("chat-error", "");
    $("messages").replaceChildren();
    setConversation(id, "");
    $("chat-empty").hidden = Boolean(id);
    if (!id) return;
    try {
      const conversation = await getJson(`/api/conversations/${encodeURIComponent(id)}`);
      setConversation(conversation.id, conversation.title);
      $("messages").replaceChildren(...conversation.messages.map(renderMessage));
      scrollToEnd();
    } catch (err) {
      if (err.status === 404) {
        setConversation("", "");
        $("chat-empty").hidden = false;
        return;
      }
      showText("chat-error", describe(err));
    }
  }

  // ---------- messages and tool calls ----------
  function messageNode(role) {
    const item = el("li", `message ${role}`);
    item.append(el("div", "message-role", role === "user" ? "You" : "TodoBot"));
    const tools = el("ol", "tools");
    tools.hidden = true;
    tools.setAttribute("aria-label", "Tool calls");
    item.append(tools, el("div", "message-text"));
    return item;
  }

  function renderMessage(message) {
    const node = messageNode(message.role === "user" ? "user" : "assistant");
    (message.tool_calls || []).forEach((call, index) => {
      const tool = addTool(node, index, call.name, call.arguments);
      finishTool(tool, call);
    });
    node.querySelector(".message-text").textContent = message.content;
    return node;
  }

  function argumentsText(args) {
    if (typeof args === "string") return args;
    try { return JSON.stringify(args ?? {}); } catch { return ""; }
  }

  function addTool(messageEl, index, name, args) {
    const tools = messageEl.querySelector(".tools");
    tools.hidden = false;
    const item = el("li", "tool pending");
    item.dataset.index = String(index);
    const status = el("span", "tool-status", "running…");
    item.append(
      el("span", "tool-mark", "⋯"),
      el("code", "tool-name", name),
      el("code", "tool-args", truncate(argumentsText(args), 160)),
      status,
    );
    tools.append(item);
    return item;
  }

  function summarize(call) {
    const result = call.result;
    if (!call.ok) return result && typeof result.message === "string" ? result.message : "failed";
    const tasks = Array.isArray(result) ? result : result && Array.isArray(result.tasks) ? result.tasks : null;
    if (tasks) return `${tasks.length} task${tasks.length === 1 ? "" : "s"}`;
    if (result && typeof result.title === "string") {
      const title = `“${truncate(result.title, 60)}”`;
      if (call.name === "add_task") return `added ${title}`;
      if (call.name === "complete_task") return `${result.completed ? "completed" : "reopened"} ${title}`;
      if (call.name === "update_task") return `updated ${title}`;
      return title;
    }
    if (result && typeof result === "object" && Object.keys(result).length === 0) {
      return call.name === "delete_task" ? "deleted" : "done";
    }
    return truncate(argumentsText(result), 80);
  }

  function finishTool(item, call) {
    item.classList.remove("pending");
    item.classList.add(call.ok ? "ok" : "failed");
    item.querySelector(".tool-mark").textContent = call.ok ? "✓" : "✗";
    item.querySelector(".tool-status").textContent = summarize(call);
  }

  function scrollToEnd() {
    const log = $("messages");
    log.scrollTop = log.scrollHeight;
  }

  // ---------- streaming a turn (SSE over fetch: EventSource cannot POST) ----------
  async function* sseEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        let event = "message";
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
    }
  }

  async function sendMessage(content) {
    state.streaming = true;
    setBusy(true);
    showText("chat-error", "");
    $("chat-empty").hidden = true;
    const log = $("messages");
    const userNode = messageNode("user");
    userNode.querySelector(".message-text").textContent = content;
    const answer = messageNode("assistant");
    answer.classList.add("streaming");
    log.append(userNode, answer);
    scrollToEnd();
    const text = answer.querySelector(".message-text");
    const tools = new Map();
    const request = { content, request_id: randomId() };
    if (state.conversationId) request.conversation_id = state.conversationId;
    try {
      const response = await send("POST", "/api/chat:stream", {
        headers: { Accept: "text/event-stream", "Content-Type": "application/json" },
        body: JSON.stringify(request),
      });
      for await (const { event, data } of sseEvents(response.body)) {
        if (event === "error") throw new ApiError(200, data.message || "The turn failed.", null);
        if (data.tool_call) {
          const call = data.tool_call;
          tools.set(call.index, addTool(answer, call.index, call.name, call.arguments_json));
        } else if (data.tool_result) {
          const { index, tool_call: call } = data.tool_result;
          const item = tools.get(index) || addTool(answer, index, call.name, call.arguments);
          finishTool(item, call);
        } else if (data.text_delta) {
          text.textContent += data.text_delta.text;
        } else if (data.done) {
          text.textContent = data.done.content;
          if (!state.conversationId) setConversation(data.done.conversation_id, truncate(content, 80));
          else setConversation(data.done.conversation_id, $("chat-heading").textContent);
        }
        scrollToEnd();
      }
    } catch (err) {
      answer.classList.add("failed");
      const problem = el("p", "message-error", describe(err));
      problem.setAttribute("role", "alert");
      answer.append(problem);
      for (const item of tools.values()) {
        if (item.classList.contains("pending")) finishTool(item, { ok: false, result: { message: "interrupted" } });
      }
    } finally {
      answer.classList.remove("streaming");
      state.streaming = false;
      setBusy(false);
      scrollToEnd();
      refreshConversations();
      refreshTasks();
    }
  }

  function setBusy(busy) {
    $("messages").setAttribute("aria-busy", String(busy));
    $("send").disabled = busy;
    $("send").textContent = busy ? "Sending…" : "Send";
  }

  // ---------- tasks ----------
  async function refreshTasks() {
    const list = $("task-list");
    showText("tasks-error", "");
    if (!state.sub) {
      list.replaceChildren();
      $("tasks-empty").hidden = false;
      return;
    }
    try {
      const tasks = await getJson(`/api/${encodeURIComponent(state.sub)}/tasks?status=all&sort=-created_at`);
      tasks.sort((a, b) => Number(a.completed) - Number(b.completed));
      list.replaceChildren(...tasks.map(taskItem));
      $("tasks-empty").hidden = tasks.length > 0;
    } catch (err) {
      showText("tasks-error", describe(err));
    }
  }

  function taskItem(task) {
    const item = el("li", task.completed ? "task done" : "task");
    const id = `task-${task.id}`;
    const box = el("input");
    box.type = "checkbox";
    box.id = id;
    box.checked = task.completed;
    const label = el("label", "task-title", task.title);
    label.htmlFor = id;
    box.addEventListener("change", () => completeTask(task, box));
    item.append(box, label);
    if (task.due_time) item.append(el("span", "task-meta", `due ${formatTime(task.due_time)}`));
    if (task.priority === "PRIORITY_HIGH") item.append(el("span", "task-meta high", "high"));
    return item;
  }

  async function completeTask(task, box) {
    box.disabled = true;
    try {
      const path = `/api/${encodeURIComponent(state.sub)}/tasks/${encodeURIComponent(task.id)}/complete`;
      await send("PATCH", path, {
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ completed: box.checked, request_id: randomId() }),
      });
    } catch (err) {
      box.checked = !box.checked;
      showText("tasks-error", describe(err));
    } finally {
      box.disabled = false;
    }
    refreshTasks();
  }

  // ---------- wiring ----------
  function start() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("token-input");
      if (useToken(input.value.trim())) input.value = "";
    });
    $("token-forget").addEventListener("click", () => {
      useToken("");
      askForToken("");
    });
    $("token-toggle").addEventListener("click", () => {
      const panel = $("token-panel");
      panel.hidden = !panel.hidden;
      $("token-toggle").setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) $("token-input").focus();
    });
    $("new-chat").addEventListener("click", () => {
      openConversation("");
      $("composer-input").focus();
    });
    $("tasks-refresh").addEventListener("click", refreshTasks);
    const input = $("composer-input");
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const content = input.value.trim();
      if (!content || state.streaming) return;
      if (!state.sub) {
        askForToken("Paste a token first.");
        return;
      }
      input.value = "";
      sendMessage(content);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });

    takeTokenFromFragment();
    const token = store.get(TOKEN_KEY);
    if (!token || !useToken(token)) {
      useToken("");
      askForToken(token ? "The saved token was not usable; paste a new one." : "");
    }
  }

  start();
})();
