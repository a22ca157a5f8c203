"""Cloud sync on the control plane: dump and apply records, remotes, the sync routine, routes."""
