"""The chat page in headless Chromium against the real system: a streamed turn with its
tool call, the task list beside it, and the conversation back after a reload."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, expect

from services.servicekit.auth import issue_token
from services.servicekit.config import JwtSettings
from tests.e2e.browser.conftest import System

MILK = re.compile("buy milk", re.IGNORECASE)


class PageWatch:
    """Records what would show a broken page: script errors, CSP reports, foreign requests."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        # 401s the page handles on purpose are logged by Chromium as failed resources.
        if message.type == "error" and "401" not in message.text:
            self.problems.append(f"console: {message.text}")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)
        if not request.url.startswith(self.origin + "/"):
            self.problems.append(f"request outside the origin: {request.url}")


# Every class change of a tool call, as "old -> new": shows a call was on screen while it
# ran (pending) and only then got its outcome, however fast the offline agent is.
TOOL_STATES = """
window.toolStates = [];
new MutationObserver((records) => {
  for (const r of records) {
    if (r.target.classList.contains("tool")) {
      window.toolStates.push(`${r.oldValue} -> ${r.target.className}`);
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ["class"]});
"""


async def _open(browser: Browser, system: System, width: int = 1280) -> tuple[Page, PageWatch]:
    context = await browser.new_context(viewport={"width": width, "height": 860})
    page = await context.new_page()
    await page.add_init_script(TOOL_STATES)
    return page, PageWatch(page, system.base_url)


async def test_a_turn_streams_shows_its_tool_call_and_task_and_survives_reload(
    browser: Browser, system: System, user_id: str, artifacts: Path
) -> None:
    token = system.token_for(user_id)
    page, watch = await _open(browser, system)
    await page.goto(f"{system.base_url}/chat#token={token}")

    # The token left the URL for localStorage; the page shows whose it is.
    await expect(page.locator("#who")).to_have_text(f"Signed in as {user_id}")
    assert "#" not in page.url and token not in page.url
    assert await page.evaluate("localStorage.getItem('todochat.token')") == token
    await expect(page.locator("#token-panel")).to_be_hidden()

    async with page.expect_response(lambda r: r.url.endswith("/api/chat:stream")) as streamed:
        await page.get_by_role("textbox", name="Message").fill("add buy milk")
        await page.get_by_role("textbox", name="Message").press("Enter")
    response = await streamed.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.request.headers["accept"] == "text/event-stream"

    answer = page.locator(".message.assistant").last
    tool = answer.locator(".tool")
    await expect(tool).to_have_count(1)
    await expect(tool.locator(".tool-name")).to_have_text("add_task")
    await expect(tool.locator(".tool-args")).to_contain_text(MILK)
    await expect(tool).to_have_class(re.compile(r"\bok\b"))
    await expect(tool.locator(".tool-mark")).to_have_text("✓")
    await expect(answer.locator(".message-text")).to_have_text(re.compile(r"added.*buy milk", re.I))
    await expect(answer).not_to_have_class(re.compile("streaming"))
    assert await page.evaluate("window.toolStates") == ["tool pending -> tool ok"]
    await expect(page.locator(".task-title")).to_have_text([MILK])
    await expect(page.locator(".conversation")).to_have_count(1)
    await expect(page.locator(".conversation[aria-current='true']")).to_contain_text(MILK)
    await page.screenshot(path=artifacts / "chat-page.png", full_page=True)

    await page.reload()
    await expect(page.locator("#who")).to_have_text(f"Signed in as {user_id}")
    await expect(page.locator(".message.user .message-text")).to_have_text(["add buy milk"])
    restored = page.locator(".message.assistant")
    await expect(restored.locator(".message-text")).to_have_text([re.compile("buy milk", re.I)])
    await expect(restored.locator(".tool-name")).to_have_text(["add_task"])
    await expect(restored.locator(".tool-mark")).to_have_text(["✓"])
    await expect(page.locator("#chat-heading")).to_have_text(MILK)
    await expect(page.locator(".task-title")).to_have_text([MILK])

    # The checkbox completes the task through PATCH …/complete.
    await page.get_by_role("checkbox", name=MILK).check()
    await expect(page.locator(".task.done .task-title")).to_have_text([MILK])
    async with httpx.AsyncClient(base_url=system.base_url) as http:
        listed = await http.get(
            f"/api/{user_id}/tasks", headers={"authorization": f"Bearer {token}"}
        )
    assert [(t["title"].lower(), t["completed"]) for t in listed.json()] == [("buy milk", True)]
    await page.set_viewport_size({"width": 420, "height": 860})
    await page.screenshot(path=artifacts / "chat-page-narrow.png", full_page=True)

    assert watch.problems == []


async def test_a_refused_token_asks_for_another(
    browser: Browser, system: System, user_id: str, artifacts: Path
) -> None:
    foreign = issue_token(
        JwtSettings(algorithms=("HS256",), secret="another-secret-that-is-long-enough-0123456789"),
        user_id,
        3600,
    )
    page, watch = await _open(browser, system, width=420)
    await page.goto(f"{system.base_url}/chat#token={foreign}")

    await expect(page.locator("#token-panel")).to_be_visible()
    await expect(page.locator("#token-error")).to_contain_text("not accepted")
    await page.get_by_role("textbox", name="Message").fill("add buy milk")
    await page.get_by_role("textbox", name="Message").press("Enter")
    # The google.rpc.Status message from the stream's error, not just the HTTP status.
    await expect(page.locator(".message-error")).to_contain_text(
        re.compile(r"^Not signed in: (?!401)\S.*")
    )

    # Pasting a good token recovers without a reload.
    await page.get_by_label("Token", exact=True).fill(system.token_for(user_id))
    await page.get_by_role("button", name="Use token").click()
    await expect(page.locator("#token-panel")).to_be_hidden()
    await expect(page.locator("#who")).to_have_text(f"Signed in as {user_id}")
    assert watch.problems == []


@pytest.mark.parametrize("chat_rate_limit", [1])
async def test_a_rate_limited_turn_says_when_to_retry(
    browser: Browser, system: System, user_id: str
) -> None:
    page, watch = await _open(browser, system)
    await page.goto(f"{system.base_url}/chat#token={system.token_for(user_id)}")
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("add buy milk")
    await composer.press("Enter")
    await expect(page.locator(".task-title")).to_have_text([MILK])
    await expect(page.get_by_role("button", name="Send")).to_be_enabled()

    await composer.fill("add water the plants")
    await composer.press("Enter")
    problem = page.locator(".message.assistant").last.locator(".message-error")
    await expect(problem).to_have_text(re.compile(r"^Too many requests: .+ Try again in \d+ s\.$"))
    await expect(page.locator(".task-title")).to_have_text([MILK])
    assert [p for p in watch.problems if "429" not in p] == []
