"""Sessions kept in a real store (SQLite, PostgreSQL) and resumed, on the real runner with
a scripted brain: restored config and items, takeover, many writers, the store away."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fakes import FakeBrain, FakeTransport, Wait, until
from tests.runtime.test_runner import leave, open_session, runner_for, text_turn
from vivavoce.engines.base import TextDelta
from vivavoce.runtime import Context, Runner
from vivavoce.runtime.resume import Instance, watch_attachments
from vivavoce.store import store_for
from vivavoce.store.sql import DELETED, RESUMED_ELSEWHERE


@pytest.fixture
async def sqlite(tmp_path):
    store = store_for(data_dir=str(tmp_path))
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store(request, tmp_path):
    url = request.getfixturevalue("postgres").new_database() \
        if request.param == "postgres" else None
    store = store_for(database_url=url, data_dir=str(tmp_path))
    await store.open()
    yield store
    await store.close()


def said(items: list[dict]) -> list[str]:
    return [part.get("text") or part.get("transcript") or "" for item in items
            for part in item.get("content", [])]


async def conversation(runner: Runner, turns: list[str]) -> tuple[FakeTransport, asyncio.Task,
                                                                  str]:
    client, served = await open_session(runner)
    session_id = client.events[0]["session"]["id"]
    client.put({"type": "session.update", "session": {"instructions": "Call me Ada.",
                                                      "output_modalities": ["text"]}})
    await client.wait_for("session.updated")
    for n, text in enumerate(turns):
        text_turn(client, text)
        await client.wait_for(lambda e, n=n: e["type"] == "response.done"
                              and len(client.of_type("response.done")) > n)
    return client, served, session_id


async def resume(runner: Runner, session_id: str) -> FakeTransport:
    client = FakeTransport()
    client.served = asyncio.create_task(runner.serve(client, Context(resume=session_id)))
    return client


async def test_a_resumed_session_has_its_id_config_items_and_history(any_store):
    brain = FakeBrain(scripts=[[TextDelta("Hello Ada.")], [TextDelta("Noted.")],
                               [TextDelta("You are Ada.")]])
    first = runner_for(brain, any_store)
    client, served, session_id = await conversation(first, ["My name is Ada.", "I like tea."])
    told_final = [e["item"] for e in client.of_type("conversation.item.done")]
    await leave(client, served)

    # Another runner on the same store: a restarted server, or another instance.
    second = runner_for(brain, any_store)
    again = await resume(second, session_id)
    created = await again.wait_for("session.created")
    assert created["session"]["id"] == session_id
    assert created["session"]["instructions"] == "Call me Ada."
    assert created["session"]["output_modalities"] == ["text"]
    await until(lambda: len(again.of_type("conversation.item.done")) == len(told_final))
    # Every item re-announced in order, added then done, chained by previous_item_id.
    redraw = [e for e in again.events if e["type"].startswith("conversation.item.")]
    assert [e["type"] for e in redraw] == ["conversation.item.added",
                                            "conversation.item.done"] * len(told_final)
    assert [e["item"] for e in redraw[1::2]] == told_final
    assert [e["previous_item_id"] for e in redraw[1::2]] == \
        [None] + [i["id"] for i in told_final[:-1]]
    # The model answers with the whole history.
    text_turn(again, "What is my name?")
    await again.wait_for("response.done")
    assert said(brain.requests[-1].items)[:4] == ["My name is Ada.", "Hello Ada.",
                                                  "I like tea.", "Noted."]
    assert len(await any_store.items(session_id)) == 6
    await leave(again, again.served)


async def test_a_second_resume_takes_the_session_over(sqlite):
    brain = FakeBrain(scripts=[[TextDelta("Hi.")]])
    runner = runner_for(brain, sqlite)
    _client, served, session_id = await conversation(runner, ["Hello."])
    second = await resume(runner, session_id)
    await second.wait_for("session.created")
    # The first connection is let go, with the reason, and says nothing after that.
    assert await asyncio.wait_for(served, 5) == RESUMED_ELSEWHERE
    third = await resume(runner, session_id)
    await third.wait_for("session.created")
    assert await asyncio.wait_for(second.served, 5) == RESUMED_ELSEWHERE
    text_turn(third, "Still there?")
    await third.wait_for("response.done")
    assert [i["id"] for i in await sqlite.items(session_id)][-1] == \
        third.of_type("conversation.item.done")[-1]["item"]["id"]
    await leave(third, third.served)


async def test_resumed_on_another_instance_the_first_lets_go(any_store):
    brain = FakeBrain(scripts=[[TextDelta("Hi.")]])
    a = runner_for(brain, any_store)
    b = Runner(a.settings, a.backend, any_store, Instance("inst_b", "http://127.0.0.1:1"))
    _client, served, session_id = await conversation(a, ["Hello."])
    watcher = asyncio.create_task(watch_attachments(any_store, a.sessions, 0.05))
    on_b = await resume(b, session_id)
    await on_b.wait_for("session.created")
    assert await asyncio.wait_for(served, 5) == RESUMED_ELSEWHERE
    assert (await any_store.session(session_id)).holder == "inst_b"
    # Deleted while open: the connection holding it closes.
    watcher.cancel()
    watcher = asyncio.create_task(watch_attachments(any_store, b.sessions, 0.05))
    assert await any_store.delete(session_id)
    assert await asyncio.wait_for(on_b.served, 5) == DELETED
    watcher.cancel()


async def test_resuming_what_is_not_there_is_a_clear_error(sqlite):
    runner = runner_for(FakeBrain(), sqlite)
    client = FakeTransport()
    reason = await runner.serve(client, Context(resume="sess_nothing"))
    (error,) = client.events
    assert error["type"] == "error" and error["error"]["code"] == "session_not_found"
    assert "sess_nothing" in error["error"]["message"] and reason


async def test_twenty_sessions_write_while_one_resumes(any_store):
    brain = FakeBrain(scripts=[[TextDelta("Reply.")]])
    runner = runner_for(brain, any_store)
    # A session with history, to resume in the middle of the others' writing.
    client, served, resumed_id = await conversation(runner, ["Earlier."])
    await leave(client, served)
    turns = 5

    async def talker(n: int) -> tuple[str, list[str]]:
        client, served = await open_session(runner)
        session_id = client.events[0]["session"]["id"]
        for t in range(turns):
            text_turn(client, f"Session {n} turn {t}.", output_modalities=["text"])
            await client.wait_for(lambda e, t=t: e["type"] == "response.done"
                                  and len(client.of_type("response.done")) > t, timeout=30)
        final = [e["item"]["id"] for e in client.of_type("conversation.item.done")]
        await leave(client, served)
        return session_id, final

    async def resumer() -> FakeTransport:
        await asyncio.sleep(0.05)
        again = await resume(runner, resumed_id)
        await again.wait_for(lambda e: e["type"] == "conversation.item.done"
                             and len(again.of_type("conversation.item.done")) == 2, timeout=30)
        return again

    *talked, again = await asyncio.gather(*(talker(n) for n in range(20)), resumer())
    for session_id, final in talked:
        stored = await any_store.items(session_id)
        assert [i["id"] for i in stored] == final  # nothing lost, nothing out of order
        assert said(stored)[0::2] == [f"Session {talked.index((session_id, final))} turn {t}."
                                      for t in range(turns)]
    assert said([e["item"] for e in again.of_type("conversation.item.done")]) == \
        ["Earlier.", "Reply."]
    await leave(again, again.served)


async def test_the_store_away_for_ten_seconds_the_conversation_goes_on(postgres):
    store = store_for(database_url=postgres.new_database())
    await store.open()
    hold = Wait()
    brain = FakeBrain(scripts=[[TextDelta("One.")], [TextDelta("Two.")], [hold,
                                                                            TextDelta("Three.")],
                               [TextDelta("Four.")]])
    runner = runner_for(brain, store)
    client, served, session_id = await conversation(runner, ["First."])
    postgres.stop()
    try:
        away = time.monotonic()
        text_turn(client, "Second.", output_modalities=["text"])
        await client.wait_for(lambda e: e["type"] == "response.done"
                              and len(client.of_type("response.done")) == 2, timeout=15)
        text_turn(client, "Third.", output_modalities=["text"])
        await until(lambda: brain.requests and len(brain.requests) == 3, timeout=15)
        await asyncio.sleep(max(0.0, 10 - (time.monotonic() - away)))
    finally:
        postgres.start()
    hold.go()
    await client.wait_for(lambda e: e["type"] == "response.done"
                          and len(client.of_type("response.done")) == 3, timeout=15)
    errors = client.of_type("error")
    assert [e["error"]["code"] for e in errors] == ["conversation_not_saved"]  # told once
    # Once the store is back, everything the client was told is final is in it.
    final = [e["item"]["id"] for e in client.of_type("conversation.item.done")]
    await until(lambda: runner.sessions[session_id].saver.available, timeout=15)
    text_turn(client, "Fourth.", output_modalities=["text"])
    await client.wait_for(lambda e: e["type"] == "response.done"
                          and len(client.of_type("response.done")) == 4, timeout=15)
    final = [e["item"]["id"] for e in client.of_type("conversation.item.done")]
    assert [i["id"] for i in await store.items(session_id)] == final
    assert said(await store.items(session_id)) == ["First.", "One.", "Second.", "Two.",
                                                   "Third.", "Three.", "Fourth.", "Four."]
    assert len(client.of_type("error")) == 1
    await leave(client, served)
    await store.close()
