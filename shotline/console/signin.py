"""Who is asking, per request: the session cookie (password mode) or the SSO proxy's
header (proxy mode); the sign-in form, sign-out, and the answer to a stranger.

Cookies are ``HttpOnly; SameSite=Strict; Path=/`` and ``Secure`` unless
``cookie_secure = false``. The sign-in form is protected by a double-submit token (a
cookie and a hidden field that must match), failures are rate limited per client address
and per name, and passwords are checked off the event loop (Argon2 is deliberately slow).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from shotline.console import pages
from shotline.console.auth import LoginLimiter, Passwords, Session, Sessions
from shotline.console.http import Request, Response, html, json_error, redirect
from shotline.console.metrics import ConsoleMetrics
from shotline.console.settings import ConsoleSettings

__all__ = ["COOKIE", "Caller", "Gate"]

log = logging.getLogger("shotline.console")

COOKIE = "shotline_console"
PRE_COOKIE = "shotline_console_login"  # the sign-in form's double-submit token
_API_PREFIXES = ("/api/", "/fragment/", "/thumb/", "/static/", "/asyncapi.json")


@dataclass
class Caller:
    """The request's session (None: a stranger) and a cookie to set with the answer."""

    session: Session | None
    set_cookie: str | None = None


class Gate:
    def __init__(self, settings: ConsoleSettings, metrics: ConsoleMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.sessions = Sessions(settings.session_ttl_s)
        self.passwords = Passwords(settings.reviewers)
        self.limiter = LoginLimiter(settings.login_attempts, settings.login_window_s)

    def cookie(self, name: str, value: str, max_age: int | None = None) -> str:
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
        if self.settings.cookie_secure:
            parts.append("Secure")
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        return "; ".join(parts)

    def caller(self, request: Request) -> Caller:
        session = self.sessions.get(request.cookies.get(COOKIE))
        if self.settings.auth != "proxy":
            return Caller(session)
        name = request.headers.get(self.settings.proxy_header.lower(), "")
        reviewer = self.settings.reviewers.get(name)
        if request.client not in self.settings.proxy_trusted_ips or reviewer is None:
            return Caller(None)
        if session is not None and secrets.compare_digest(session.reviewer, name):
            return Caller(session)
        token, session = self.sessions.create(name, frozenset(reviewer.projects))
        return Caller(session, self.cookie(COOKIE, token))

    def still_valid(self, request: Request, session: Session) -> bool:
        """Whether ``session`` is still the request's (not signed out, not idle too long).
        Asked by the live stream every few seconds, so it must not count as activity."""
        if self.settings.auth == "proxy":
            return True
        return self.sessions.get(request.cookies.get(COOKIE), touch=False) is session

    @staticmethod
    def stranger(request: Request) -> Response:
        """Pages send a stranger to the sign-in form; everything else answers 401."""
        if request.path.startswith(_API_PREFIXES) or request.method != "GET":
            return json_error(401, "unauthenticated", "sign in first: /login")
        return redirect("/login", 303)

    async def login(self, request: Request) -> Response:
        if self.settings.auth == "proxy":
            return json_error(404, "not_found", "sign-in is done by the SSO proxy")
        if request.method == "GET":
            pre = secrets.token_urlsafe(24)
            page = html(pages.login_page(pre), csp=pages.LOGIN_CSP)
            page.headers.append(("set-cookie", self.cookie(PRE_COOKIE, pre)))
            return page
        if request.method != "POST":
            return json_error(405, "method_not_allowed", "GET or POST")
        form = request.form()
        name, password = form.get("name", ""), form.get("password", "")
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not secrets.compare_digest(pre, form.get("login_token", "")):
            return json_error(403, "csrf", "the sign-in form's token is missing or wrong")
        wait = self.limiter.retry_after(request.client, name)
        if wait > 0:
            self.metrics.logins.labels("limited").inc()
            text = pages.login_page(pre, "Too many failed attempts; try again later.", name)
            page = html(text, 429, csp=pages.LOGIN_CSP)
            page.headers.append(("retry-after", str(int(wait) + 1)))
            return page
        if not await asyncio.to_thread(self.passwords.check, name, password):
            self.limiter.failed(request.client, name)
            self.metrics.logins.labels("failed").inc()
            text = pages.login_page(pre, "Wrong name or password.", name)
            return html(text, 401, csp=pages.LOGIN_CSP)
        self.metrics.logins.labels("ok").inc()
        log.info("console: %s signed in", name)
        token, _ = self.sessions.create(name, frozenset(self.settings.reviewers[name].projects))
        answer = redirect("/", 303)
        answer.headers.append(("set-cookie", self.cookie(COOKIE, token)))
        answer.headers.append(("set-cookie", self.cookie(PRE_COOKIE, "", max_age=0)))
        return answer

    def logout(self, request: Request) -> Response:
        self.sessions.end(request.cookies.get(COOKIE))
        answer = redirect("/login", 303)
        answer.headers.append(("set-cookie", self.cookie(COOKIE, "", max_age=0)))
        return answer
