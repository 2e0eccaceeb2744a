"""The task tools over the Model Context Protocol, for any agent a user runs.

`todochat serve mcp` serves them alone; the gateway mounts the same app at `/mcp`.
"""
