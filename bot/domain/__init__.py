"""The conversation in plain terms: turns, context, summary, personas, budgets, and the ports it needs.

Imports nothing of Telegram, Starlette, Redis or the SDKs (tests/test_layers.py checks it).
"""
