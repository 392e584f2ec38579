"""Finding fingerprints: stable across line moves (what was flagged and where in the code, not on which line)."""

from __future__ import annotations

import hashlib


def fingerprint(code: str, path: str, snippet: str, scope: str, occurrence: int) -> str:
    text = "\0".join((code, path, " ".join(snippet.split()), scope, str(occurrence)))
    return hashlib.sha256(text.encode()).hexdigest()[:20]
