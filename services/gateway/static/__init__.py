"""The chat page the gateway serves at `/chat`: plain HTML, CSS and JS, no build step."""
