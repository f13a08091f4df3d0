"""A Telegram chat bot that streams answers from an OpenAI-compatible model, with memory in Redis."""
