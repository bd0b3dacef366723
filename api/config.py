"""What the HTTP layer is configured with; ``rafiq.wiring`` fills it from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ApiConfig:
    secret_key: str
    """Derives webhook signing secrets; never sent anywhere."""
    max_message_chars: int = 4000
    max_body_bytes: int = 64_000
    max_upload_bytes: int = 20_000_000
    """Replaces ``max_body_bytes`` for knowledge-base uploads only."""
    upload_dir: Path | None = None
    """Where uploaded files wait to be ingested; None: the system's temporary directory."""
    rate_per_minute: int = 30
    """Customer messages per conversation, and requests per publishable key x10."""
    rate_burst: int = 10
    sse_heartbeat_s: float = 15.0
    sse_poll_s: float = 1.0
    """How often a stream looks at the database even without a local wake-up: events
    written by another replica arrive within this delay."""
    presence_window_s: float = 120.0
    """An adviser seen within this window counts as available."""
    threads: int = 16
    """Worker threads for the database, retrieval and other blocking calls of turns."""
    demo_pages: bool = False
    """Serve ``/demo/{tenant}``: a sample client homepage carrying the widget (dev only)."""
    webhook_poll_s: float = 1.0
    webhook_max_attempts: int = 8
