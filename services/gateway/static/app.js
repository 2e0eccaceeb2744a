// The chat page: the token, the conversation list, a streamed chat and the task list,
// all through the gateway's public REST API.
import { Api, ApiError, randomId, subjectOf } from "./api.js";
import {
  addTool, conversationItem, el, finishTool, messageNode, renderMessage, taskItem, truncate,
} from "./view.js";

const TOKEN_KEY = "todochat.token";
const conversationKey = (sub) => `todochat.conversation.${sub}`;
const $ = (id) => document.getElementById(id);

const state = { api: new Api(""), sub: "", conversationId: "", streaming: false };

// localStorage can be unavailable (some private windows): the page then works for one visit.
const store = {
  get(key) {
    try { return localStorage.getItem(key) || ""; } catch { return ""; }
  },
  set(key, value) {
    try {
      if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
    } catch { /* nothing to keep it in */ }
  },
};

function showText(id, text) {
  $(id).textContent = text;
  $(id).hidden = !text;
}

function describe(err) {
  if (!(err instanceof ApiError)) return String(err);
  if (err.status === 401) {
    askForToken(`Your token was not accepted: ${err.message}. Paste a new one.`);
    return `Not signed in: ${err.message}`;
  }
  if (err.status === 429) {
    const wait = err.retryAfter !== null ? ` Try again in ${err.retryAfter} s.` : "";
    return `Too many requests: ${err.message}.${wait}`;
  }
  return err.message;
}

// ---------- the token ----------

// `/chat#token=…`: a fragment never reaches the server. Keep the token, clear the URL.
function takeTokenFromFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token === null) return;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  if (token.trim()) store.set(TOKEN_KEY, token.trim());
}

function useToken(token) {
  const sub = token ? subjectOf(token) : "";
  if (token && !sub) {
    showText("token-error", "That does not look like a token: it names no subject (sub).");
    return false;
  }
  showText("token-error", "");
  state.api = new Api(token);
  state.sub = sub;
  store.set(TOKEN_KEY, token);
  $("who").textContent = sub ? `Signed in as ${sub}` : "not signed in";
  setTokenPanel(!sub);
  openConversation(sub ? store.get(conversationKey(sub)) : "");
  refreshConversations();
  refreshTasks();
  return true;
}

function setTokenPanel(open) {
  $("token-panel").hidden = !open;
  $("token-toggle").setAttribute("aria-expanded", String(open));
}

function askForToken(message) {
  setTokenPanel(true);
  showText("token-error", message);
  $("token-input").focus();
}

// ---------- conversations ----------

async function refreshConversations() {
  let conversations = [];
  if (state.sub) {
    try {
      conversations = await state.api.get("/api/conversations?limit=50");
    } catch (err) {
      showText("chat-error", describe(err));
    }
  }
  $("conversation-list").replaceChildren(
    ...conversations.map((c) => conversationItem(c, state.conversationId, openConversation)),
  );
  $("conversations-empty").hidden = conversations.length > 0;
}

function setConversation(id, title) {
  state.conversationId = id;
  if (state.sub) store.set(conversationKey(state.sub), id);
  $("chat-heading").textContent = title || "New chat";
  for (const button of document.querySelectorAll(".conversation")) {
    if (button.dataset.id === id) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

async function openConversation(id) {
  if (state.streaming) return;
  showText("chat-error", "");
  $("messages").replaceChildren();
  setConversation(id, "");
  $("chat-empty").hidden = Boolean(id);
  if (!id) return;
  try {
    const conversation = await state.api.get(`/api/conversations/${encodeURIComponent(id)}`);
    setConversation(conversation.id, conversation.title);
    $("messages").replaceChildren(...conversation.messages.map(renderMessage));
    scrollToEnd();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      setConversation("", "");
      $("chat-empty").hidden = false;
    } else {
      showText("chat-error", describe(err));
    }
  }
}

// ---------- a turn ----------

function scrollToEnd() {
  $("messages").scrollTop = $("messages").scrollHeight;
}

function setBusy(busy) {
  state.streaming = busy;
  $("messages").setAttribute("aria-busy", String(busy));
  $("send").disabled = busy;
  $("send").textContent = busy ? "Sending…" : "Send";
}

async function sendMessage(content) {
  setBusy(true);
  showText("chat-error", "");
  $("chat-empty").hidden = true;
  const question = messageNode("user");
  question.querySelector(".message-text").textContent = content;
  const answer = messageNode("assistant");
  answer.classList.add("streaming");
  $("messages").append(question, answer);
  scrollToEnd();
  const text = answer.querySelector(".message-text");
  const tools = new Map();
  const request = { content, request_id: randomId() };
  if (state.conversationId) request.conversation_id = state.conversationId;
  try {
    for await (const event of state.api.streamChat(request)) {
      if (event.tool_call) {
        const { index, name, arguments_json: args } = event.tool_call;
        tools.set(index, addTool(answer, index, name, args));
      } else if (event.tool_result) {
        const { index, tool_call: call } = event.tool_result;
        finishTool(tools.get(index) || addTool(answer, index, call.name, call.arguments), call);
      } else if (event.text_delta) {
        text.textContent += event.text_delta.text;
      } else if (event.done) {
        text.textContent = event.done.content;
        const title = state.conversationId ? $("chat-heading").textContent : truncate(content, 80);
        setConversation(event.done.conversation_id, title);
      }
      scrollToEnd();
    }
  } catch (err) {
    answer.classList.add("failed");
    const problem = el("p", "message-error", describe(err));
    problem.setAttribute("role", "alert");
    answer.append(problem);
    for (const item of tools.values()) {
      if (item.classList.contains("pending")) {
        finishTool(item, { ok: false, result: { message: "interrupted" } });
      }
    }
  } finally {
    answer.classList.remove("streaming");
    setBusy(false);
    scrollToEnd();
    refreshConversations();
    refreshTasks();
  }
}

// ---------- tasks ----------

async function refreshTasks() {
  showText("tasks-error", "");
  let tasks = [];
  if (state.sub) {
    try {
      tasks = await state.api.get(`/api/${encodeURIComponent(state.sub)}/tasks?status=all`);
    } catch (err) {
      showText("tasks-error", describe(err));
    }
  }
  // Open tasks first, each group newest first (the server's default order).
  tasks.sort((a, b) => Number(a.completed) - Number(b.completed));
  $("task-list").replaceChildren(...tasks.map((task) => taskItem(task, completeTask)));
  $("tasks-empty").hidden = tasks.length > 0;
}

async function completeTask(task, box) {
  box.disabled = true;
  const path = `/api/${encodeURIComponent(state.sub)}/tasks/${encodeURIComponent(task.id)}/complete`;
  try {
    await state.api.send("PATCH", path, { json: { completed: box.checked, request_id: randomId() } });
  } catch (err) {
    box.checked = !box.checked;
    showText("tasks-error", describe(err));
  }
  box.disabled = false;
  refreshTasks();
}

// ---------- wiring ----------

function start() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (useToken($("token-input").value.trim())) $("token-input").value = "";
  });
  $("token-forget").addEventListener("click", () => {
    useToken("");
    askForToken("");
  });
  $("token-toggle").addEventListener("click", () => {
    setTokenPanel($("token-panel").hidden);
    if (!$("token-panel").hidden) $("token-input").focus();
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
  const saved = store.get(TOKEN_KEY);
  if (!saved || !useToken(saved)) {
    useToken("");
    askForToken(saved ? "The saved token is not usable; paste a new one." : "");
  }
}

start();
