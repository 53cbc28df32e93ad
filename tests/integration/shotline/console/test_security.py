"""The console's access control over plain HTTP against a served console (real Kafka and
S3): no session, no answer; no CSRF token, no change; another project's screenshot cannot
be decided; sign-in guessing is rate limited."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.integration.shotline.console.conftest import PASSWORD, ConsoleServer, Seeded

pytestmark = [pytest.mark.kafka, pytest.mark.s3]


@pytest.fixture
def console(console_factory: Any) -> ConsoleServer:
    """httpx keeps Secure cookies off plain HTTP, as it should: these clients get a console
    whose cookies are not marked Secure (the browser tests use the default, Secure)."""
    server: ConsoleServer = console_factory(cookie_secure=False)
    return server


PAGES = ["/", "/history/x", "/asyncapi", "/no-such-page"]
API = [
    ("GET", "/api/queue"),
    ("GET", "/api/me"),
    ("GET", "/api/events"),
    ("GET", "/api/history/x"),
    ("GET", "/fragment/queue"),
    ("GET", "/fragment/status"),
    ("GET", "/thumb/x"),
    ("GET", "/static/console.js"),
    ("GET", "/asyncapi.json"),
    ("POST", "/api/decisions"),
    ("POST", "/logout"),
]


def sign_in(client: httpx.Client, name: str = "alice", password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login", data={"login_token": token.group(1), "name": name, "password": password}
    )


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/")
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_every_route_but_healthz_needs_a_session(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, follow_redirects=False) as client:
        assert client.get("/healthz").status_code == 200
        for path in PAGES:
            answer = client.get(path)
            assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path
        for method, path in API:
            answer = client.request(method, path)
            assert answer.status_code == 401, (method, path)
            assert answer.json()["error"] == "unauthenticated"
        # a forged cookie is no session either
        client.cookies.set("shotline_console", "forged")
        assert client.get("/api/queue").status_code == 401


def test_session_cookie_is_httponly_samesite_secure(console_factory: Any) -> None:
    secure = console_factory(cookie_secure=True)  # the default
    with httpx.Client(base_url=secure.url) as client:
        form = client.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token is not None
        # httpx, rightly, keeps Secure cookies off plain HTTP: send the form's one by hand
        answer = client.post(
            "/login",
            data={"login_token": token.group(1), "name": "alice", "password": PASSWORD},
            headers={"Cookie": f"shotline_console_login={token.group(1)}"},
            follow_redirects=False,
        )
    assert answer.status_code == 303
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "shotline_console=" in v
    )
    assert {"HttpOnly", "SameSite=Strict", "Secure", "Path=/"} <= set(cookie.split("; "))


def test_post_without_csrf_token_is_refused(console: ConsoleServer, seeded: Seeded) -> None:
    rid = seeded.flagged["alpha"][0]
    with httpx.Client(base_url=console.url) as client:
        assert sign_in(client).status_code in (200, 303)
        body = {"request_id": rid, "action": "confirm"}
        # a cross-site form post: the session cookie, no token
        assert client.post("/api/decisions", data=body).status_code == 403
        # a wrong token
        wrong = client.post("/api/decisions", data=body, headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        assert wrong.json()["error"] == "csrf"
        # another origin, even with the right token
        token = csrf_of(client)
        foreign = client.post(
            "/api/decisions",
            data=body,
            headers={"X-CSRF-Token": token, "Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        # logout is a state change too
        assert client.post("/logout").status_code == 403
        assert client.get("/api/queue").status_code == 200
        queue = client.get("/api/queue").json()
        assert rid in {item["request_id"] for item in queue["items"]}


def test_reviewer_cannot_decide_or_see_another_projects_screenshot(
    console: ConsoleServer, seeded: Seeded
) -> None:
    beta = seeded.flagged["beta"][0]
    with httpx.Client(base_url=console.url) as client:
        sign_in(client, "alice")
        token = csrf_of(client)
        crafted = client.post(
            "/api/decisions",
            json={"request_id": beta, "action": "overturn", "note": "x", "project": "alpha"},
            headers={"X-CSRF-Token": token},
        )
        assert crafted.status_code == 404
        assert crafted.json()["error"] == "not_found"
        assert client.get(f"/thumb/{beta}").status_code == 404
        assert client.get(f"/api/history/{beta}").status_code == 404
        listed = {i["request_id"] for i in client.get("/api/queue").json()["items"]}
        assert listed == set(seeded.flagged["alpha"])
        # filtering by the other project shows nothing either
        other = client.get("/api/queue", params={"project": "beta"}).json()
        assert other["total"] == 0
    with httpx.Client(base_url=console.url) as client:
        sign_in(client, "bob")
        listed = {i["request_id"] for i in client.get("/api/queue").json()["items"]}
        assert listed == {beta}  # still undecided


def test_login_guessing_is_rate_limited(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url) as client:
        codes = [sign_in(client, "alice", f"guess-{n}").status_code for n in range(5)]
        assert codes == [401] * 5
        limited = sign_in(client, "alice", PASSWORD)  # even the right password now waits
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        # another name from the same address waits as well
        assert sign_in(client, "bob", PASSWORD).status_code == 429


def test_login_form_needs_its_own_token(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url) as client:
        answer = client.post("/login", data={"name": "alice", "password": PASSWORD})
        assert answer.status_code == 403
        assert client.get("/api/queue").status_code == 401


def test_proxy_mode_believes_the_header_only_from_a_trusted_peer(console_factory: Any) -> None:
    reviewers = {"carol": {"projects": ["alpha"]}}
    trusted = console_factory(
        auth="proxy", reviewers=reviewers, cookie_secure=False, proxy_trusted_ips=["127.0.0.1"]
    )
    with httpx.Client(base_url=trusted.url) as client:
        assert client.get("/api/me").status_code == 401  # no header
        me = client.get("/api/me", headers={"X-Forwarded-User": "carol"})
        assert me.json() == {"reviewer": "carol", "projects": ["alpha"]}
        assert client.get("/api/me", headers={"X-Forwarded-User": "mallory"}).status_code == 401
        # a state change still needs the CSRF token of the session the proxy's name opened
        assert client.post("/logout", headers={"X-Forwarded-User": "carol"}).status_code == 403
        assert client.get("/login").status_code == 404  # no password form in this mode
    untrusted = console_factory(
        auth="proxy", reviewers=reviewers, cookie_secure=False, proxy_trusted_ips=["10.9.9.9"]
    )
    with httpx.Client(base_url=untrusted.url) as client:
        assert client.get("/api/me", headers={"X-Forwarded-User": "carol"}).status_code == 401


def test_logins_are_counted(console: ConsoleServer) -> None:
    registry = console.app.metrics.registry
    with httpx.Client(base_url=console.url) as client:
        sign_in(client, "alice", "wrong-password")
        sign_in(client, "alice")

    def count(outcome: str) -> float | None:
        return registry.get_sample_value("shotline_console_logins_total", {"outcome": outcome})

    assert (count("failed"), count("ok")) == (1.0, 1.0)
