"""Evals shared by the control plane (storing suites, starting runs) and the workers (running them)."""
