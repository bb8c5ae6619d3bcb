"""Partners (联合奖惩, SPEC §11): the measures catalogue, webhook subscriptions
delivered from a transactional outbox, and partners' acknowledgements."""
