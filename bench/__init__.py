"""The gateway overhead benchmark: `python -m bench` (or `make bench`).

It starts a whole OmniRoute stack of its own (fresh database, own Redis db, free ports), pins the
edge to one CPU and everything else to another, then measures the same requests sent straight to
the fake upstream (DIRECT) and through the edge (EDGE) in the same run. Overhead = EDGE − DIRECT.
Results go to bench/results/<UTC timestamp>.json and a markdown summary on stdout.
"""
