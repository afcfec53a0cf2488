"""Telling other systems: ``[[watch.hook]]`` commands and webhooks, delivered at least once.

``events`` makes the notice of an outcome (committed with it in the journal), ``delivery``
sends it from threads of its own. See docs/operations.md for the event's schema.
"""

from hotocr.hooks.delivery import HookDelivery
from hotocr.hooks.events import SCHEMA, for_hooks

__all__ = ["SCHEMA", "HookDelivery", "for_hooks"]
