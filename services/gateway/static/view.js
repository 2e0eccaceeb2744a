// DOM for messages, tool calls, conversations and tasks. Text goes in through
// textContent only: nothing from the server is ever parsed as HTML.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const today = date.toDateString() === new Date().toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { month: "short", day: "numeric" });
}

function asText(value) {
  if (typeof value === "string") return value;
  try { return JSON.stringify(value ?? {}); } catch { return ""; }
}

export function messageNode(role) {
  const item = el("li", `message ${role}`);
  const tools = el("ol", "tools");
  tools.hidden = true;
  tools.setAttribute("aria-label", "Tool calls");
  item.append(el("div", "message-role", role === "user" ? "You" : "TodoBot"), tools, el("div", "message-text"));
  return item;
}

export function renderMessage(message) {
  const node = messageNode(message.role === "user" ? "user" : "assistant");
  (message.tool_calls || []).forEach((call, index) => {
    finishTool(addTool(node, index, call.name, call.arguments), call);
  });
  node.querySelector(".message-text").textContent = message.content;
  return node;
}

export function addTool(messageEl, index, name, args) {
  const tools = messageEl.querySelector(".tools");
  tools.hidden = false;
  const item = el("li", "tool pending");
  item.dataset.index = String(index);
  item.append(
    el("span", "tool-mark", "⋯"),
    el("code", "tool-name", name),
    el("code", "tool-args", truncate(asText(args), 160)),
    el("span", "tool-status", "running…"),
  );
  tools.append(item);
  return item;
}

function summarize(call) {
  const result = call.result;
  if (!call.ok) return result && typeof result.message === "string" ? result.message : "failed";
  const tasks = Array.isArray(result) ? result : Array.isArray(result?.tasks) ? result.tasks : null;
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
  return truncate(asText(result), 80);
}

export function finishTool(item, call) {
  item.className = call.ok ? "tool ok" : "tool failed";
  item.querySelector(".tool-mark").textContent = call.ok ? "✓" : "✗";
  item.querySelector(".tool-status").textContent = summarize(call);
}

export function conversationItem(conversation, current, onOpen) {
  const item = el("li");
  const button = el("button", "conversation");
  button.type = "button";
  button.dataset.id = conversation.id;
  if (conversation.id === current) button.setAttribute("aria-current", "true");
  button.append(
    el("span", "conversation-title", conversation.title || "Untitled"),
    el("span", "conversation-preview", truncate(conversation.last_message || "", 90)),
    el("time", "conversation-time", formatTime(conversation.updated_at)),
  );
  button.addEventListener("click", () => onOpen(conversation.id));
  item.append(button);
  return item;
}

export function taskItem(task, onToggle) {
  const item = el("li", task.completed ? "task done" : "task");
  const box = el("input");
  box.type = "checkbox";
  box.id = `task-${task.id}`;
  box.checked = task.completed;
  const label = el("label", "task-title", task.title);
  label.htmlFor = box.id;
  box.addEventListener("change", () => onToggle(task, box));
  item.append(box, label);
  if (task.due_time) item.append(el("span", "task-meta", `due ${formatTime(task.due_time)}`));
  if (task.priority === "PRIORITY_HIGH") item.append(el("span", "task-meta high", "high"));
  return item;
}
