"""Rafiq's long-lived indexes and the cyclic garbage collector."""

from __future__ import annotations

import gc


def settle_long_lived() -> None:
    """Collect the garbage, then take every object still alive out of the cyclic garbage
    collector's reach until the next call.

    A server holds hundreds of thousands of objects that live as long as it does: each
    tenant's lexical index and triage examples, the Darija lexicon, the libraries' own
    tables. Every full collection walks all of them, and on a warmed server each one
    paused every request for about 250 ms, a few times a minute under load. This costs one
    such pause, when the long-lived set has just changed; frozen objects are still freed
    by reference counting, and the next call collects any cycle among them.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
