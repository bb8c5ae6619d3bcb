"""Four eyes (两人审核, SPEC §9): proposals, approvals bound to the payload's hash."""
