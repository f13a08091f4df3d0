"""A ModelRequest as the keyword arguments of ``chat.completions.create``: messages (with their images and tool
calls), tools and sampling."""

from __future__ import annotations

from typing import Any

from bot.domain.capability import Limit
from bot.domain.ports import ChatMessage, ModelRequest


def chat_arguments(request: ModelRequest) -> dict[str, Any]:
    """The request in the API's terms; without tools, tool exchanges of the history are sent as plain text.
    Told to answer now (tool_choice "none"), it carries no tools but keeps the exchanges: the model answers from
    the results. What the model was learnt to refuse is left out (or, for max_tokens, renamed)."""
    if not request.tools or Limit.TOOLS in request.limits:
        request = request.without_tools()
    arguments: dict[str, Any] = {
        "model": request.model,
        "messages": [_message(m) for m in request.messages],
    }
    if Limit.TEMPERATURE not in request.limits:
        arguments["temperature"] = request.temperature
    arguments["max_completion_tokens" if Limit.MAX_TOKENS in request.limits else "max_tokens"] = request.max_tokens
    if request.tools and request.tool_choice != "none":
        arguments["tools"] = [spec.as_openai() for spec in request.tools]
        if request.tool_choice is not None:
            arguments["tool_choice"] = request.tool_choice
    return arguments


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.tool_calls:
        return {"role": message.role, "content": message.content or None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls]}
    return {"role": message.role, "content": _content(message)}


def _content(message: ChatMessage) -> str | list[dict[str, Any]]:
    """A message's text, or its content parts: the text (when there is any), then each image."""
    if not message.images:
        return message.content
    text = [{"type": "text", "text": message.content}] if message.content else []
    return text + [{"type": "image_url", "image_url": {"url": image.url, "detail": image.detail.value}}
                   for image in message.images]
