"""What the offline agent says when no task is involved: help and small talk."""

from __future__ import annotations

from services.chat.llm.offline_intents import Talk

HELP = """\
I'm TodoBot, running in offline mode: I understand plain task commands. For example:
- “add buy milk and call mom” or “remind me to pay rent on friday”
- “show my tasks”, “what's left?”, “what have I done?”
- “done with buy milk”, “complete the second one”, “reopen call mom”
- “delete the milk task”, “rename buy milk to buy oat milk”
- “set pay rent priority to high”, “pay rent is due tomorrow”, “tag pay rent with home”
Refer to a task by its title, a part of it, or its number in the last list I showed."""

_REPLIES = {
    "hello": "Hi! I'm TodoBot. Tell me what to add, or say “show my tasks”.",
    "thanks": "You're welcome! Anything else for your list?",
    "who": (
        "I'm TodoBot, your task assistant. Right now I run in offline mode, so I follow "
        "simple commands like “add buy milk” or “show my tasks”. Say “help” for more."
    ),
    "how": "All good here, and ready to help with your tasks. What's next?",
    "bye": "Bye! Your tasks will be here when you come back.",
    "nevermind": "Okay, I'll leave things as they are.",
}


def talk_reply(intent: Talk) -> str:
    if intent.kind == "help":
        return HELP
    if intent.kind == "unknown":
        said = intent.said.strip().rstrip(".!?")
        hint = f" To add it as a task, say “add {said}”." if 0 < len(said) <= 80 else ""
        return (
            "Sorry, I didn't understand that. In offline mode I follow simple task "
            f"commands.{hint} Say “help” to see what I can do."
        )
    return _REPLIES[intent.kind]
