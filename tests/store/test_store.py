"""The same store tests on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio

import pytest

from vivavoce.store import (
    CallRecord,
    Changes,
    Detached,
    SecretRecord,
    SessionRecord,
    UsageRecord,
    digest,
)
from vivavoce.store.migrate import migrate, migrations, schema_version
from vivavoce.store.sql import DELETED, RESUMED_ELSEWHERE
from vivavoce.store.sync import SavedItems


def record(session_id: str = "sess_a", created_at: float = 100.0, **fields) -> SessionRecord:
    return SessionRecord(id=session_id, created_at=created_at, updated_at=created_at,
                         owner="open", persona="assistant", model="vivavoce-local",
                         config={"instructions": "Be brief."}, holder="inst_a", attachment=1,
                         **fields)


def message(item_id: str, text: str, role: str = "user") -> dict:
    kind = "input_text" if role == "user" else "output_text"
    return {"id": item_id, "object": "realtime.item", "type": "message", "status": "completed",
            "role": role, "content": [{"type": kind, "text": text}]}


async def save(store, items: list[dict], session: SessionRecord, saved: SavedItems,
               create: bool = False, usage=()) -> None:
    upserts, deletes = saved.changes(items)
    await store.write(Changes(session, create, upserts, deletes, list(usage)))
    saved.saved(upserts, deletes)


async def test_migrations_run_once_in_order(store):
    assert await schema_version(store.db) == len(migrations())
    assert await migrate(store.db) == []  # already there: nothing runs twice


async def test_a_session_and_its_items_in_order(store):
    session, saved = record(), SavedItems()
    items = [message("i1", "My name is Ada."), message("i2", "Hello Ada.", "assistant")]
    await save(store, items, session, saved, create=True,
               usage=[UsageRecord("resp_1", "completed", {"input_tokens": 12,
                                                          "output_tokens": 3})])
    got = await store.session("sess_a")
    assert got is not None and got.config == {"instructions": "Be brief."}
    assert got.persona == "assistant" and got.attachment == 1 and got.holder == "inst_a"
    assert await store.items("sess_a") == items
    (use,) = await store.usage("sess_a")
    assert use.response_id == "resp_1" and use.usage["input_tokens"] == 12

    # One inserted in the middle, one changed, one deleted: the order follows.
    items = [message("i0", "First."), items[0], message("i3", "Changed.", "assistant")]
    await save(store, items, session, saved)
    assert await store.items("sess_a") == items


async def test_writes_are_fenced_by_the_attachment(store):
    session, saved = record(), SavedItems()
    await save(store, [message("i1", "One.")], session, saved, create=True)
    resumed = await store.attach("sess_a", "inst_b", digest("rt_new"))
    assert resumed is not None and resumed.attachment == 2 and resumed.holder == "inst_b"
    assert resumed.resume_token_hash == digest("rt_new")
    with pytest.raises(Detached) as lost:
        await save(store, [message("i1", "One."), message("i2", "Late.")], session, saved)
    assert lost.value.reason == RESUMED_ELSEWHERE
    assert [i["id"] for i in await store.items("sess_a")] == ["i1"]  # nothing leaked in
    assert await store.attachments(["sess_a", "sess_none"]) == {"sess_a": 2}
    assert await store.delete("sess_a")
    with pytest.raises(Detached) as gone:
        await save(store, [message("i1", "One.")], resumed, SavedItems())
    assert gone.value.reason == DELETED
    assert await store.attach("sess_a", "inst_c") is None
    assert await store.items("sess_a") == []


async def test_concurrent_attaches_each_get_their_own_number(store):
    await save(store, [], record(), SavedItems(), create=True)
    taken = await asyncio.gather(*(store.attach("sess_a", f"inst_{n}") for n in range(8)))
    assert sorted(t.attachment for t in taken) == list(range(2, 10))


async def test_resume_tokens_rotate_by_compare_and_swap(store):
    await save(store, [], record(resume_token_hash=digest("rt_1")), SavedItems(), create=True)
    assert await store.rotate_token("sess_a", digest("rt_1"), digest("rt_2"))
    assert not await store.rotate_token("sess_a", digest("rt_1"), digest("rt_3"))  # reused
    assert (await store.session("sess_a")).resume_token_hash == digest("rt_2")
    assert await store.rotate_token("sess_a", None, digest("rt_4"))
    assert not await store.rotate_token("sess_none", None, digest("rt_5"))


async def test_sessions_page_newest_first(store):
    for n in range(5):
        await save(store, [], record(f"sess_{n}", created_at=100.0 + n), SavedItems(),
                   create=True)
    first = await store.sessions(2)
    assert [s.id for s in first] == ["sess_4", "sess_3"]
    second = await store.sessions(2, after=first[-1].id)
    assert [s.id for s in second] == ["sess_2", "sess_1"]
    assert [s.id for s in await store.sessions(2, after="sess_0")] == []


async def test_purge_erases_old_sessions_and_expired_secrets(store):
    now = store.clock()
    await save(store, [message("i1", "Old.")], record("sess_old"), SavedItems(), create=True)
    await save(store, [message("i1", "New.")], record("sess_new"), SavedItems(), create=True)
    await store.put_secret(SecretRecord(digest("ek_old"), int(now) - 1, {}))
    await store.put_secret(SecretRecord(digest("ek_new"), int(now) + 60, {"instructions": "x"},
                                        "sess_new", digest("rt")))
    # Writes stamp updated_at with the store's clock: age one session by hand.
    await store.db.run(lambda cur: cur.execute(
        "UPDATE sessions SET updated_at = ? WHERE id = ?", (now - 86400 * 40, "sess_old")),
        write=True)
    assert await store.purge(now - 86400 * 30, now) == 1
    assert await store.session("sess_old") is None and await store.items("sess_old") == []
    assert await store.session("sess_new") is not None
    assert await store.secret(digest("ek_old")) is None
    kept = await store.secret(digest("ek_new"))
    assert kept == SecretRecord(digest("ek_new"), int(now) + 60, {"instructions": "x"},
                                "sess_new", digest("rt"))


async def test_the_call_registry(store):
    call = CallRecord("rtc_1", "sess_a", "inst_a", "http://127.0.0.1:8001")
    await store.put_call(call)
    assert await store.call("rtc_1") == call
    moved = CallRecord("rtc_1", "sess_a", "inst_b", "http://127.0.0.1:8002")
    await store.put_call(moved)
    assert await store.call("rtc_1") == moved
    await store.drop_call("rtc_1")
    assert await store.call("rtc_1") is None
