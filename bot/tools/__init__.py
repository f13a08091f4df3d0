"""Built-in tools the model may call (time, web search, reading a URL, reminders) and the MCP client.

Each implements ``bot.domain.tools.Tool``; ``registry.py`` turns the TOOLS setting into a Toolbox.
"""
