"""Who the terminal user is and which conversation they are in, kept across runs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from services.servicekit.auth import issue_token
from services.servicekit.config import Settings


@dataclass(frozen=True)
class TerminalSession:
    user: str
    token: str
    state_file: Path

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    def conversation_id(self) -> str:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return ""
        value = data.get(self.user, "") if isinstance(data, dict) else ""
        return value if isinstance(value, str) else ""

    def remember(self, conversation_id: str) -> None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (FileNotFoundError, ValueError):
            data = {}
        data[self.user] = conversation_id
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.state_file)


def open_session(settings: Settings, user: str, token: str | None) -> TerminalSession:
    """Uses the given token, else signs one for `user` with the local key."""
    return TerminalSession(
        user=user,
        token=token or issue_token(settings.jwt, user, 12 * 3600),
        state_file=settings.var_dir / "terminal-conversations.json",
    )
