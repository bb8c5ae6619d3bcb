"""Models of the lists domain (filled in by its issue)."""
