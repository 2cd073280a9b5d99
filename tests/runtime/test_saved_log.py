"""What the store keeps of a conversation is what the client was told, on the real runner
with a scripted brain and a real store: an answer cut short (the client truncating it, or
the server cutting its own playback) is saved as the session keeps it; and with
--store-audio each item's audio is saved too (the user's as committed, the assistant's as
sent, cut where it was truncated) and returned by the items route and the export."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest

from tests.fakes import FakeBrain, voice
from tests.helpers import silence
from tests.runtime.test_resume import any_store, sqlite  # noqa: F401 (fixtures)
from tests.runtime.test_runner import leave, open_session, runner_for, text_turn
from tests.runtime.test_server_playback import WORDS, PlayingTransport
from vivavoce.store.export import export

MS = 24  # samples per ms at 24 kHz


async def stored_item(store, session_id: str, item_id: str, key: str, value: str) -> dict:
    """The item as the store has it, once its `key` says `value` (writes run behind)."""
    async def saved() -> dict | None:
        items = {i["id"]: i for i in await store.items(session_id)}
        item = items.get(item_id)
        return item if item is not None and item["content"][0].get(key) == value else None

    async def poll() -> dict:
        while (item := await saved()) is None:
            await asyncio.sleep(0.01)
        return item

    return await asyncio.wait_for(poll(), 5)


async def retrieved(client, item_id: str) -> dict:
    client.put({"type": "conversation.item.retrieve", "item_id": item_id})
    return (await client.wait_for(lambda e: e["type"] == "conversation.item.retrieved"
                                  and e["item"]["id"] == item_id))["item"]


@pytest.mark.parametrize("who", ["client", "server"])
async def test_a_truncated_answer_is_saved_as_the_session_keeps_it(any_store, who):  # noqa: F811
    client = PlayingTransport()
    runner = runner_for(FakeBrain(scripts=[WORDS, [*WORDS[:1]]]), any_store)
    client, served = await open_session(runner, client)
    session_id = client.events[0]["session"]["id"]
    text_turn(client, "Count.")
    done = (await client.wait_for("response.done"))["response"]
    item_id = done["output"][0]["id"]
    full = done["output"][0]["content"][0]["transcript"]
    await stored_item(any_store, session_id, item_id, "transcript", full)
    if who == "client":  # as a WebSocket client does after playing 850 ms of it
        client.put({"type": "conversation.item.truncate", "item_id": item_id,
                    "content_index": 0, "audio_end_ms": 850})
    else:  # as on a WebRTC call: the server played 600 ms when the user spoke up
        client.tick(30)
        client.audio(np.concatenate([voice(300), silence(700)]))
    await client.wait_for("conversation.item.truncated")
    kept = (await retrieved(client, item_id))["content"][0]["transcript"]
    assert kept == ("One two three. Four five" if who == "client" else "One two three. Four")
    saved = await stored_item(any_store, session_id, item_id, "transcript", kept)
    assert saved == await retrieved(client, item_id)  # what the client was told, exactly
    await leave(client, served)


async def test_with_store_audio_each_items_audio_is_saved(sqlite):  # noqa: F811
    brain = FakeBrain(scripts=[WORDS], transcript="Count to nine.")
    client = PlayingTransport()
    client, served = await open_session(runner_for(brain, sqlite, store_audio=True), client)
    session_id = client.events[0]["session"]["id"]
    said = voice(800)
    client.audio(np.concatenate([said, silence(1000)]))
    done = (await client.wait_for("response.done"))["response"]
    user_id = client.of_type("input_audio_buffer.committed")[0]["item_id"]
    answer_id = done["output"][0]["id"]
    client.put({"type": "conversation.item.truncate", "item_id": answer_id,
                "content_index": 0, "audio_end_ms": 850})
    await client.wait_for("conversation.item.truncated")

    async def audio_of(item_id: str, samples: int) -> np.ndarray:
        kept = await until_async(lambda: sqlite.item_audio(session_id), item_id, samples)
        return np.frombuffer(kept, "<i2")

    heard = await audio_of(user_id, 0)
    # The user's audio as committed: all of the speech, with the turn's padding around it.
    assert said.astype("<i2").tobytes() in heard.astype("<i2").tobytes()
    assert len(heard) < len(said) + 1000 * MS
    answer = await audio_of(answer_id, 850 * MS)  # cut where it was truncated
    assert np.array_equal(answer, np.concatenate([w.pcm for w in WORDS])[:850 * MS])

    document = await export(sqlite, session_id)
    parts = {i["id"]: i["content"][0] for i in document["items"]}
    assert base64.b64decode(parts[answer_id]["audio"]) == answer.astype("<i2").tobytes()
    assert parts[answer_id]["transcript"] == "One two three. Four five"
    assert base64.b64decode(parts[user_id]["audio"]) == heard.astype("<i2").tobytes()
    await leave(client, served)


async def test_without_store_audio_no_audio_is_saved(sqlite):  # noqa: F811
    client, served = await open_session(runner_for(FakeBrain(scripts=[WORDS]), sqlite))
    session_id = client.events[0]["session"]["id"]
    client.audio(np.concatenate([voice(800), silence(1000)]))
    await client.wait_for("response.done")
    await leave(client, served)
    assert len(await sqlite.items(session_id)) == 2
    assert await sqlite.item_audio(session_id) == {}


async def until_async(read, item_id: str, samples: int) -> bytes:
    """The audio saved for `item_id`, once there is some (of `samples` samples, if given)."""
    async def poll() -> bytes:
        while True:
            kept = (await read()).get(item_id)
            if kept is not None and (not samples or len(kept) == 2 * samples):
                return kept
            await asyncio.sleep(0.01)
    return await asyncio.wait_for(poll(), 5)
