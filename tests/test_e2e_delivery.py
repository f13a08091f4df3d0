"""End to end: an answer generated is stored before it is delivered, so a replica killed in between costs nothing."""

from __future__ import annotations

import json
import signal

from bot.domain.chat import ChatKey
from bot.store.keys import Keys
from tests.bot_process import TOKEN
from tests.e2e import World
from tests.fake_openai import Reply
from tests.http_fake import wait_for

KEYS = Keys(f"tg:{TOKEN.split(':')[0]}")
ANSWER = "The whole answer, generated once."


def test_a_replica_killed_after_the_answer_was_generated_delivers_it_without_asking_again(env: World) -> None:
    env.model.default = Reply(ANSWER, chunk_size=100)
    env.telegram.slow_down("editMessageText", 60)  # the final edit (the Stop button goes) hangs: kill meanwhile
    settings = {"INGRESS_CLAIM_IDLE_SECONDS": "1"}
    update = env.telegram.make_update("question", chat_id=700)
    with env.bot(**settings) as victim:
        assert victim.post(update).status_code == 200
        wait_for(lambda: bool(env.store.exists(KEYS.done(update["update_id"]))), what="the answer stored")
        wait_for(lambda: bool(env.recorded_messages(update["update_id"])), what="its message recorded")
        victim.stop(signal.SIGKILL)
    assert not env.telegram.messages(700)[0].final  # killed before the final edit landed
    env.telegram.slow_down("editMessageText", 0)
    with env.bot(**settings) as survivor:
        wait_for(lambda: env.unacknowledged() == 0, timeout=30, what="the update finished by the survivor")
        assert "already generated" in survivor.log()
    assert len(env.model.chat_requests()) == 1  # generated once, never asked again
    messages = env.telegram.messages(700, include_deleted=True)
    assert [(m.text, m.final) for m in messages] == [(ANSWER, True)]
    stored = [json.loads(turn) for turn in env.store.lrange(KEYS.turns(ChatKey(700)), 0, -1)]
    assert [(t["role"], t["content"]) for t in stored] == [("user", "question"), ("assistant", ANSWER)]
