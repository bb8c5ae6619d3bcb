"""The credit tests decide repairs with one key; four eyes has its own tests."""

from __future__ import annotations
