"""POST /api/restart and /api/shutdown: graceful process control of the control plane."""
