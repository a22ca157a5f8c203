"""Running eval cases through the edge: the HTTP call, scoring, and the run's rows."""
