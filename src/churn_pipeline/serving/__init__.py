"""The service's own parts: lookups by id, the champion it follows, its log."""
