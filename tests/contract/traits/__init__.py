"""What each dialect's request format carries, for the request side of the matrix."""
