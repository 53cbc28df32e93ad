"""Passwords, sessions and the sign-in rate limit."""

from __future__ import annotations

import pytest

from shotline.console.auth import LoginLimiter, Passwords, Sessions, hash_password
from shotline.console.settings import Reviewer


def test_passwords_are_salted_argon2id_and_checked() -> None:
    first, second = hash_password("hunter2-hunter2"), hash_password("hunter2-hunter2")
    assert first.startswith("$argon2id$")
    assert first != second  # a salt of its own each time
    passwords = Passwords({"alice": Reviewer(password_hash=first, projects=("a",))})
    assert passwords.check("alice", "hunter2-hunter2")
    assert not passwords.check("alice", "hunter3-hunter3")
    assert not passwords.check("mallory", "hunter2-hunter2")


def test_a_plain_password_in_the_config_is_refused() -> None:
    with pytest.raises(ValueError, match="Argon2"):
        Reviewer(password_hash="hunter2", projects=("a",))


def test_sessions_end_and_csrf_is_checked() -> None:
    sessions = Sessions(ttl_s=60)
    token, session = sessions.create("alice", frozenset({"a"}))
    assert sessions.get(token) is session
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok(None)
    assert not session.csrf_ok(session.csrf[:-1] + "x")
    sessions.end(token)
    assert sessions.get(token) is None
    assert sessions.get("") is None


def test_the_limiter_counts_failures_per_address_and_per_name() -> None:
    limiter = LoginLimiter(attempts=3, window_s=60)
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1", "alice") == 0
        limiter.failed("10.0.0.1", "alice")
    assert limiter.retry_after("10.0.0.1", "bob") > 0  # the address waits
    assert limiter.retry_after("10.0.0.2", "alice") > 0  # the name waits
    assert limiter.retry_after("10.0.0.2", "bob") == 0


def test_only_the_reviewers_own_requests_keep_a_session_alive() -> None:
    sessions = Sessions(ttl_s=60)
    token, session = sessions.create("alice", frozenset({"a"}))
    session.expires -= 30  # idle for half the TTL
    before = session.expires
    assert sessions.get(token, touch=False) is session  # the live stream's check
    assert session.expires == before
    assert sessions.get(token) is session  # a request by the reviewer
    assert session.expires > before
    session.expires -= 61  # idle past the TTL
    assert sessions.get(token, touch=False) is None
