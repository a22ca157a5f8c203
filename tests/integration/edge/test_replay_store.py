"""The replay store on real Redis: a later turn on any replica gets its signatures back."""

from __future__ import annotations

from redis.asyncio import Redis

from services.edge.pipeline.replay import ReplayStore
from shared.canonical.chat import ChatRequest, Message, Text, Thinking, ToolCall, ToolResult
from shared.kv import keys


async def test_saved_signatures_come_back_for_the_same_tool_call(redis: Redis) -> None:
    store = ReplayStore(redis)
    await store.save((Thinking("plan", signature="s1"), ToolCall("call_a", "f", "{}", "t1")), "anthropic", "key-1")
    assert 0 < await redis.ttl(keys.replay("call_a")) <= keys.REPLAY_TTL_SECONDS
    later = ChatRequest(
        model="m",
        messages=(
            Message("user", (Text("go"),)),
            Message("assistant", (ToolCall("call_a", "f", "{}"),)),
            Message("tool", (ToolResult("call_a", (Text("ok"),)),)),
        ),
    )
    restored = await ReplayStore(redis).restore(later, "key-1")  # another replica, same Redis
    assert restored.messages[1].content == (
        Thinking("plan", signature="s1", origin="anthropic"),
        ToolCall("call_a", "f", "{}", "t1", origin="anthropic"),
    )


async def test_nothing_to_restore_costs_no_round_trip(redis: Redis) -> None:
    request = ChatRequest(model="m", messages=(Message("user", (Text("hi"),)),))
    assert await ReplayStore(redis).restore(request, "key-1") is request


async def test_a_redis_failure_degrades_to_no_restore() -> None:
    broken = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    request = ChatRequest(model="m", messages=(Message("assistant", (ToolCall("x", "f", "{}"),)),))
    assert await ReplayStore(broken).restore(request, "k") is request
    await ReplayStore(broken).save((ToolCall("x", "f", "{}", "sig"),), "gemini", "k")  # logged, not raised
    await broken.aclose()


async def test_a_client_that_drops_tool_call_ids_is_matched_by_content_within_its_key(redis: Redis) -> None:
    store = ReplayStore(redis)
    call = ToolCall("call_original", "get_weather", '{"city": "Paris"}', "t1")
    await store.save((Thinking("plan", signature="s1"), call), "gemini", "key-1")
    echoed = ChatRequest(  # same call, new id (the ollama SDK drops ids), keys in another order
        model="m",
        messages=(Message("assistant", (ToolCall("call_synth_0", "get_weather", '{ "city":"Paris" }'),)),),
    )
    restored = await store.restore(echoed, "key-1")
    assert restored.messages[0].content[1] == ToolCall(
        "call_synth_0", "get_weather", '{ "city":"Paris" }', "t1", origin="gemini"
    )
    assert await store.restore(echoed, "another-key") == echoed  # never across API keys
