"""The regulators' console (`/console`, SPEC §10): server-rendered, no JavaScript."""
