"""Guarded outbound HTTP for the control plane and the workers: a library, not a service.

`shared/` holds no HTTP client (ARCHITECTURE decision 1), and services do not import each other,
so the one guarded session (connect-time SSRF guard, no redirects, configured proxies) that both
the control plane and the workers need lives here; it imports only `shared`. The edge keeps its
own pooled client (services/edge/upstream.py), built on this package's SOCKS connector: its hot
path wants long-lived pools per proxy.
See docs/decisions/0006-outbound-library.md.
"""
