"""An in-process cache kept honest by change notifications (app/core/notify.py).

Staleness, for every user of this class: an entry is served only while the
process's `Watch` has confirmed that every change committed more than 0.8 s ago
has been applied, so a change reaches every process within 1 s of its commit;
no entry is served after `ttl` seconds or on another day than it was made
(dated answers: credit windows and publication periods end at midnight).
Writers invalidate by *tag* (`notify(session, topic, tag)`): every entry made
with that tag is dropped. A load that overlaps an invalidation is not stored
(`begin`/`put` compare an epoch), so an answer read before a change cannot be
cached after it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, defaultdict
from collections.abc import Hashable
from typing import Generic, TypeVar

from app.core.clock import today
from app.core.notify import Watch

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WatchedCache(Generic[K, V]):
    def __init__(self, watch: Watch, topic: str, *, ttl: float, max_entries: int) -> None:
        self.watch = watch
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, object, tuple[str, ...], V]] = OrderedDict()
        self._by_tag: defaultdict[str, set[K]] = defaultdict(set)
        self._epoch = 0
        watch.subscribe(topic, self.invalidate)
        watch.on_reset(self.clear)

    def get(self, key: K) -> V | None:
        if not self.watch.confirmed():
            return None
        return self._live(key, time.monotonic(), today())

    def get_many(self, keys: list[K]) -> list[V | None]:
        """`get` of each key (the watch, the clock and the day read once)."""
        if not self.watch.confirmed():
            return [None] * len(keys)
        now, day = time.monotonic(), today()
        return [self._live(key, now, day) for key in keys]

    def _live(self, key: K, now: float, day: object) -> V | None:
        """The entry's value unless it is past its `ttl` or from another day
        (then dropped)."""
        found = self._entries.get(key)
        if found is None:
            return None
        made, made_on, _, value = found
        if now - made > self.ttl or made_on != day:
            self._drop(key)
            return None
        return value

    def begin(self) -> int:
        """Call before loading what `put` will store."""
        return self._epoch

    def put(self, key: K, value: V, tags: tuple[str, ...], token: int) -> None:
        if token != self._epoch or not self.watch.confirmed():
            return  # a change arrived while loading: the value may predate it
        self._drop(key)
        self._entries[key] = (time.monotonic(), today(), tags, value)
        for tag in tags:
            self._by_tag[tag].add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def invalidate(self, tag: str) -> None:
        self._epoch += 1
        for key in list(self._by_tag.pop(tag, ())):
            self._drop(key)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._by_tag.clear()

    def _drop(self, key: K) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        for tag in found[2]:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def __len__(self) -> int:
        return len(self._entries)
