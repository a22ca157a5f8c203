"""Live fleet state the edges share in Redis, read (and reset) by the control plane.

Breakers, cooldowns, rate-limit buckets, concurrency seats and session pins are written by the
edges; these endpoints read them with the same `shared/kv` primitives the edges use, joining names
from Postgres, and never change configuration (no snapshot is published).
"""
