"""The official `openai` SDK against both edge processes: plain, streaming, and broken streams."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.support.stack import E2EStack

MODEL = "openai/gpt-4o-mini"


def client(e2e: E2EStack, edge: int, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{e2e.edges[edge]}/v1", api_key=key or e2e.key, max_retries=0, timeout=20)


@pytest.mark.parametrize("edge", [0, 1])
def test_plain_completion(e2e: E2EStack, edge: int) -> None:
    raw = client(e2e, edge).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello! You said: Hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 10
    assert completion.usage.completion_tokens == 5
    assert raw.http_response.status_code == 200
    assert len(raw.headers["x-omniroute-request-id"]) == 32
    assert raw.headers["x-omniroute-provider"] == "openai"


@pytest.mark.parametrize("edge", [0, 1])
def test_streaming_completion_with_and_without_usage(e2e: E2EStack, edge: int) -> None:
    sdk = client(e2e, edge)
    chunks = list(
        sdk.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "stream me"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello! You said: stream me"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5
    plain = list(sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    assert all(c.choices for c in plain)  # the usage chunk the gateway asked for is not shown
    assert plain[-1].choices[0].finish_reason == "stop"


def test_streams_are_relayed_incrementally(e2e: E2EStack) -> None:
    """The first token leaves the gateway long before the upstream finishes (no buffering)."""
    started = time.perf_counter()
    arrivals: list[float] = []
    stream = client(e2e, 0).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "[[fake words=6 chunk_delay_ms=250]]"}],
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter() - started)
    assert len(arrivals) == 6
    total = time.perf_counter() - started
    assert total >= 1.5  # 6 pieces, 250 ms apart
    assert arrivals[0] < total - 1.0


def test_only_data_frames_reach_openai_clients(e2e: E2EStack) -> None:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "[[fake noise=true]] hi"}]}
    with httpx.stream(
        "POST", f"{e2e.edges[1]}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {e2e.key}"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines), lines


def test_a_stream_cut_mid_way_ends_with_an_in_band_error(e2e: E2EStack) -> None:
    sdk = client(e2e, 0)
    received: list[str] = []

    def consume() -> None:
        for chunk in sdk.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "[[fake words=8 cut_after=4]]"}], stream=True
        ):
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)

    with pytest.raises(openai.APIError) as raised:
        consume()
    assert received  # bytes had reached the client: no fallback, an in-band error
    assert "ended before completion" in str(raised.value) or "broke" in str(raised.value)


def test_an_upstream_error_event_is_relayed_in_band(e2e: E2EStack) -> None:
    body = {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "[[fake upstream_error_after=2]]"}],
    }
    with httpx.stream(
        "POST", f"{e2e.edges[0]}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {e2e.key}"}
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1].startswith('data: {"error"')
    assert "data: [DONE]" not in lines


def test_a_stream_stalled_after_its_first_event_ends_with_an_error_frame(e2e: E2EStack) -> None:
    body = {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "[[fake chunk_delay_ms=5000]]"}],
    }
    started = time.perf_counter()
    with httpx.stream(
        "POST",
        f"{e2e.edges[0]}/v1/chat/completions",
        json=body,
        timeout=20,
        headers={"authorization": f"Bearer {e2e.key}"},
    ) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line]
    assert time.perf_counter() - started < 4.5  # idle timeout is 3 s in this stack
    assert lines[0].startswith("data: {")
    assert "upstream_idle_timeout" in lines[-1]
    assert "data: [DONE]" not in lines


def test_a_stream_silent_after_its_headers_is_a_first_byte_timeout_before_anything_is_sent(e2e: E2EStack) -> None:
    """Headers without an event are not a first byte: the request can still fail cleanly (or fall back)."""
    body = {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "[[fake stall_after_headers_ms=5000]]"}],
    }
    started = time.perf_counter()
    response = httpx.post(
        f"{e2e.edges[0]}/v1/chat/completions", json=body, timeout=20, headers={"authorization": f"Bearer {e2e.key}"}
    )
    assert time.perf_counter() - started < 4.5  # first-byte timeout is 3 s in this stack
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_first_byte_timeout"
