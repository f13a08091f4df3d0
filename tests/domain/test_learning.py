from __future__ import annotations

import pytest

from bot.domain.capability import Limit
from bot.domain.learning import Learner
from bot.domain.ports import ModelRequest, Usage
from bot.errors import ParameterRejected
from tests.fake_model import FakeModel, Script


class Limits:
    """ModelLimits in memory."""

    def __init__(self) -> None:
        self.known: dict[str, set[Limit]] = {}

    async def limits(self, model: str) -> frozenset[Limit]:
        return frozenset(self.known.get(model, set()))

    async def learn(self, model: str, limit: Limit) -> None:
        self.known.setdefault(model, set()).add(limit)


REQUEST = ModelRequest(messages=(), model="o4-mini", temperature=0.7, max_tokens=100)


async def test_each_refused_parameter_is_learnt_and_the_call_made_again_without_it() -> None:
    model = FakeModel(Script(error=ParameterRejected("temperature")), Script(error=ParameterRejected("max_tokens")))
    limits, thoughts = Limits(), []

    async def thinking() -> None:
        thoughts.append(True)

    learner = Learner(model, limits)
    await learner.stream(REQUEST, thinking)
    assert [r.limits for r in model.requests] == [
        frozenset(), {Limit.TEMPERATURE}, {Limit.TEMPERATURE, Limit.MAX_TOKENS}]
    assert limits.known == {"o4-mini": {Limit.TEMPERATURE, Limit.MAX_TOKENS}}
    assert thoughts == [True]  # a reasoning model, once both were learnt: told once
    await learner.stream(REQUEST, thinking)
    assert model.requests[-1].limits == {Limit.TEMPERATURE, Limit.MAX_TOKENS} and len(thoughts) == 2


async def test_a_parameter_refused_again_or_unknown_is_the_model_error() -> None:
    limits = Limits()
    limits.known["o4-mini"] = {Limit.TEMPERATURE}
    model = FakeModel(Script(error=ParameterRejected("temperature")), Script(error=ParameterRejected("seed")))

    async def thinking() -> None: ...

    for _ in range(2):
        with pytest.raises(ParameterRejected):
            await Learner(model, limits).stream(REQUEST, thinking)


async def test_reasoning_tokens_mark_a_reasoning_model() -> None:
    limits = Limits()
    learner = Learner(FakeModel(), limits)
    await learner.used("gpt-4o", Usage(10, 5))
    await learner.used("o4-mini", Usage(10, 50, reasoning_tokens=40))
    assert limits.known == {"o4-mini": {Limit.REASONS}}


class Refusing(FakeModel):
    """A reasoning model's server: refuses temperature and max_tokens (summaries too) until they are left out."""

    async def complete(self, request: ModelRequest) -> tuple[str, Usage | None]:
        self.requests.append(request)
        for limit, parameter in ((Limit.TEMPERATURE, "temperature"), (Limit.MAX_TOKENS, "max_tokens")):
            if limit not in request.limits:
                raise ParameterRejected(parameter)
        return "A summary.", Usage(100, 10)


async def test_a_whole_answer_is_asked_without_what_the_model_refuses_too() -> None:
    model, limits = Refusing(), Limits()
    summarizing = Learner(model, limits).asking()
    assert await summarizing.complete(REQUEST) == ("A summary.", Usage(100, 10))
    assert limits.known == {"o4-mini": {Limit.TEMPERATURE, Limit.MAX_TOKENS}}
    await summarizing.complete(REQUEST)
    assert len(model.requests) == 4, "what was learnt is not asked again"
