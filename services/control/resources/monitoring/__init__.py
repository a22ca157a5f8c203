"""Monitoring: the health of the whole deployment and latency telemetry, read from shared state.

Nothing here comes from one process's memory: connections from Postgres, breakers, cooldowns and
edge replica presence from Redis, latencies from the usage events the workers stored.
"""
