"""/api/cli-tools: whether a coding CLI is installed on the control plane's host, and how to point it here."""
