"""One stack for the end-to-end tests: control, two edge processes (one with two Granian workers),
a worker and the fake upstream, on their own database and Redis db."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from services.cli.local_stack import EdgeSpec
from tests.support.env import free_port, redis_url
from tests.support.stack import E2EStack, start_stack

DATABASE = "omniroute_e2e"
REDIS_DB = 12


@pytest.fixture(scope="session")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    url = redis_url(REDIS_DB)
    redis.Redis.from_url(url).flushdb()
    stack = start_stack(
        DATABASE,
        tmp_path_factory.mktemp("e2e-stack"),
        url,
        REDIS_DB,
        (EdgeSpec(free_port(), workers=2), EdgeSpec(free_port(), workers=1)),
        OMNIROUTE_USAGE_CLAIM_IDLE_MS="1000",
        OMNIROUTE_MAX_BODY_BYTES=str(1024 * 1024),
        OMNIROUTE_FIRST_BYTE_TIMEOUT="3",
        OMNIROUTE_STREAM_IDLE_TIMEOUT="3",
    )
    try:
        yield stack
    finally:
        stack.admin.close()
        stack.stack.stop()
