"""/healthz, /readyz and /metrics on every process; metrics count across Granian workers."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import E2EStack


def chat_requests_total(edge: str) -> float:
    text = httpx.get(f"{edge}/metrics", timeout=5).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "omniroute_requests":
            total += sum(
                s.value
                for s in family.samples
                if s.name == "omniroute_requests_total" and s.labels["route"] == "chat.completions"
            )
    return total


def test_every_process_serves_health_readiness_and_metrics(e2e: E2EStack) -> None:
    for base in [*e2e.edges, e2e.stack.control_url, e2e.stack.worker_url]:
        assert httpx.get(f"{base}/healthz").status_code == 200
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200, (base, ready.text)
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200
        families = list(text_string_to_metric_families(metrics.text))
        assert any(f.name.startswith("omniroute_") for f in families), base


def test_counts_are_correct_whichever_worker_answers_the_scrape(e2e: E2EStack) -> None:
    edge = e2e.edges[0]  # the edge with two Granian worker processes
    before = chat_requests_total(edge)
    sent = 30
    for _ in range(sent):
        with httpx.Client() as client:  # new connection each time: both workers take requests
            response = client.post(
                f"{edge}/v1/chat/completions",
                json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "m"}]},
                headers={"authorization": f"Bearer {e2e.key}"},
            )
            assert response.status_code == 200
    for _ in range(6):
        with httpx.Client() as client:
            text = client.get(f"{edge}/metrics").text
        total = sum(
            s.value
            for family in text_string_to_metric_families(text)
            if family.name == "omniroute_requests"
            for s in family.samples
            if s.name == "omniroute_requests_total" and s.labels["route"] == "chat.completions"
        )
        assert total == before + sent
    # The scrapes above only prove something if both worker processes counted requests.
    port = edge.rsplit(":", 1)[1]
    metrics_dir = e2e.stack.layout.log_dir / "data" / "metrics" / f"edge-{port}"
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 2
