"""Images on an OpenAI-compatible server: ``POST {OPENAI_BASE_URL}/images/generations``, the picture as base64.

OpenAIModel.draw runs this in its retry loop, which also turns SDK errors into ours (a content-policy refusal
into ImageRefused).
"""

from __future__ import annotations

import base64
import binascii

import openai

# gpt-image-1 always answers with base64; the DALL·E models send a URL unless asked for base64.
_ASK_FOR_BASE64 = ("dall-e-",)


class NoImage(Exception):
    """The server answered without a picture (or with one that is not base64)."""


async def generate(client: openai.AsyncOpenAI, prompt: str, model: str, size: str) -> bytes:
    """One image; SDK errors propagate (the caller translates them)."""
    if model.startswith(_ASK_FOR_BASE64):
        response = await client.images.generate(model=model, prompt=prompt, size=size, n=1, response_format="b64_json")
    else:
        response = await client.images.generate(model=model, prompt=prompt, size=size, n=1)
    encoded = response.data[0].b64_json if response.data else None
    if not encoded:
        raise NoImage("no b64_json in the answer")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoImage("b64_json is not base64") from exc
