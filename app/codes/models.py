"""Models of the codes domain (filled in by its issue)."""
