"""Who is asking: password checks, sessions, CSRF tokens and the login rate limit.

Passwords are Argon2id hashes (argon2-cffi, a salted memory-hard hash: a stolen config does
not give the passwords away). An unknown name is checked against a dummy hash so that the
answer takes as long as for a known one. Sessions live in this process's memory: the
browser holds a random 256-bit token, the table holds only its SHA-256, so a lookup leaks
nothing usable about other tokens; each session has its own CSRF token, compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shotline.console.settings import Reviewer

__all__ = ["LoginLimiter", "Passwords", "Session", "Sessions", "hash_password"]

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The PHC string of ``password`` (Argon2id, random salt) for ``password_hash``."""
    return _hasher.hash(password)


class Passwords:
    def __init__(self, reviewers: dict[str, Reviewer]) -> None:
        self._hashes = {
            name: r.password_hash for name, r in reviewers.items() if r.password_hash is not None
        }
        self._dummy = _hasher.hash(secrets.token_urlsafe(16))

    def check(self, name: str, password: str) -> bool:
        """True when ``password`` is ``name``'s; same work whether ``name`` exists or not."""
        known = name in self._hashes
        stored = self._hashes.get(name, self._dummy)
        try:
            ok: bool = _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            ok = False
        return ok and known


@dataclass
class Session:
    reviewer: str
    projects: frozenset[str]
    csrf: str
    expires: float

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf.encode(), given.encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Sessions:
    ttl_s: float
    _by_digest: dict[str, Session] = field(default_factory=dict)

    def create(self, reviewer: str, projects: frozenset[str]) -> tuple[str, Session]:
        """A new session; returns the token for the cookie (never stored) and the session."""
        self._expire()
        token = secrets.token_urlsafe(32)
        session = Session(reviewer, projects, secrets.token_urlsafe(32), time.time() + self.ttl_s)
        self._by_digest[_digest(token)] = session
        return token, session

    def get(self, token: str | None, touch: bool = True) -> Session | None:
        """The live session of ``token``, or None. A request by the reviewer restarts its
        idle timer (``touch``); a check the page makes by itself (the live stream) does not."""
        if not token:
            return None
        session = self._by_digest.get(_digest(token))
        now = time.time()
        if session is None or session.expires < now:
            return None
        if touch:
            session.expires = now + self.ttl_s
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._by_digest.pop(_digest(token), None)

    def _expire(self) -> None:
        now = time.time()
        for key in [k for k, s in self._by_digest.items() if s.expires < now]:
            del self._by_digest[key]


@dataclass
class LoginLimiter:
    """At most ``attempts`` failed logins per client address and per name within
    ``window_s``; then every login from that address or for that name waits."""

    attempts: int
    window_s: float
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def retry_after(self, address: str, name: str) -> float:
        """Seconds until a login from ``address`` for ``name`` may be tried; 0: now."""
        now = time.monotonic()
        waits = []
        for key in (f"ip:{address}", f"name:{name}"):
            times = self._recent(key, now)
            if len(times) >= self.attempts:
                waits.append(times[0] + self.window_s - now)
        return max(waits, default=0.0)

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        for key in (f"ip:{address}", f"name:{name}"):
            self._recent(key, now).append(now)
        if len(self._failures) > 10_000:  # bounded: drop keys with no recent failure
            for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                del self._failures[key]
