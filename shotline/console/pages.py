"""The console's HTML, rendered on the server (every value escaped here, once).

``queue_list`` is served whole in the page and alone as ``/fragment/queue``, which the
page's script fetches again whenever the queue changes: one renderer for both.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime
from html import escape
from urllib.parse import quote

from schemas.decision import ReviewDecision
from schemas.moderation import ModerationVerdict
from shotline.console.queue import Filters, Item
from shotline.dev.monitor import Row

__all__ = [
    "LOGIN_CSP",
    "asyncapi_page",
    "history_page",
    "login_page",
    "queue_list",
    "queue_page",
    "status_panel",
]

_LOGIN_CSS = (
    "body{font:15px system-ui,sans-serif;background:#f4f5f7;margin:0}"
    "form{max-width:320px;margin:12vh auto;background:#fff;padding:24px;border-radius:8px;"
    "box-shadow:0 1px 4px #0002}label{display:block;margin:12px 0 4px}"
    "input{width:100%;box-sizing:border-box;padding:8px}button{margin-top:16px;padding:8px 16px}"
    ".error{color:#b00020}"
)
_CSS_HASH = base64.b64encode(hashlib.sha256(_LOGIN_CSS.encode()).digest()).decode()
LOGIN_CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _t(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def login_page(pre_token: str, error: str = "", name: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shotline console: sign in</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>{_LOGIN_CSS}</style></head><body>
<form method="post" action="/login" id="login">
<h1>shotline review console</h1>{problem}
<input type="hidden" name="login_token" value="{escape(pre_token)}">
<label for="name">Reviewer</label><input id="name" name="name" value="{escape(name)}"
 autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password"
 autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>"""


def _layout(title: str, reviewer: str, csrf: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="csrf-token" content="{escape(csrf)}">
<link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script>
</head><body>
<header><strong>shotline review console</strong>
<nav><a href="/">Queue</a> <a href="/asyncapi">AsyncAPI</a></nav>
<form method="post" action="/logout" id="logout"><input type="hidden" name="csrf_token"
 value="{escape(csrf)}"><span>signed in as <b id="reviewer">{escape(reviewer)}</b></span>
<button type="submit">Sign out</button></form></header>
<main>{body}</main></body></html>"""


def _labels(verdict: ModerationVerdict) -> str:
    labels = sorted(verdict.labels, key=lambda label: label.score, reverse=True)
    return ", ".join(f"{escape(label.name)} {label.score:.2f}" for label in labels) or "no labels"


def _item(item: Item, csrf: str) -> str:
    rid = escape(item.request_id)
    v = item.verdict
    facts = item.facts
    where = (
        f'<span class="channel">{escape(facts.channel)}</span> · user {escape(facts.user)} · '
        f"taken {_t(facts.taken_at)}"
        if facts
        else "screenshot facts not read (yet)"
    )
    thumb = (
        f'<img class="thumb" src="/thumb/{quote(item.request_id, safe="")}" alt="screenshot" '
        'loading="lazy">'
        if facts and facts.key
        else '<div class="thumb none">no image</div>'
    )
    who = " · ".join(escape(x) for x in (v.provider or "", v.model or "") if x)
    return f"""<li class="item verdict-{v.verdict.value}" data-request-id="{rid}">{thumb}
<div class="facts"><span class="badge">{v.verdict.value}</span>
<span class="project">{escape(item.project)}</span> · {where}<br>
<span class="labels">{_labels(v)}</span> <small>{who} · verdict {_t(item.at)}</small><br>
<small class="rid">{rid}</small> <a href="/history/{quote(item.request_id, safe="")}">history</a>
<form class="decide" method="post" action="/api/decisions">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<input type="hidden" name="request_id" value="{rid}">
<input name="note" placeholder="note (optional)" maxlength="2000">
<button type="submit" name="action" value="confirm">Confirm</button>
<button type="submit" name="action" value="overturn">Overturn</button>
<span class="outcome" role="status"></span></form></div></li>"""


def queue_list(items: list[Item], total: int, csrf: str) -> str:
    shown = f" (newest {len(items)} shown)" if total > len(items) else ""
    rows = "\n".join(_item(item, csrf) for item in items)
    hidden = " hidden" if items else ""
    return (
        f'<p id="count"><span id="total">{total}</span> flagged screenshots to review{shown}</p>'
        f'<p id="empty" class="empty"{hidden}>Nothing to review.</p><ul id="items">{rows}</ul>'
    )


def _options(values: Iterable[str], chosen: str, blank: str) -> str:
    out = [f'<option value="">{escape(blank)}</option>']
    for value in values:
        sel = " selected" if value == chosen else ""
        out.append(f'<option value="{escape(value)}"{sel}>{escape(value)}</option>')
    return "".join(out)


def queue_page(
    reviewer: str,
    csrf: str,
    projects: list[str],
    filters: Filters,
    listing: str,
    status: str,
    version: int,
) -> str:
    hours = "" if filters.hours is None else f"{filters.hours:g}"
    project = _options(projects, filters.project, "all mine")
    verdict = _options(("review", "block"), filters.verdict, "review + block")
    body = f"""<form id="filters" method="get" action="/">
<label>Project <select name="project">{project}</select></label>
<label>Channel <input name="channel" value="{escape(filters.channel)}"></label>
<label>Verdict <select name="verdict">{verdict}</select></label>
<label>Last hours <input name="hours" type="number" min="0.1" step="any"
 value="{escape(hours)}"></label>
<button type="submit">Filter</button></form>
<section id="status">{status}</section>
<section id="queue" aria-live="polite" data-version="{version}">{listing}</section>"""
    return _layout("shotline console", reviewer, csrf, body)


def status_panel(rows: list[Row] | None) -> str:
    if rows is None:
        return '<p class="muted">No status targets configured (console.status_targets).</p>'

    def fmt(value: float | None, digits: int = 0) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    lines = "".join(
        f"<tr><td>{escape(r.stage)}</td><td>{fmt(r.rate, 1)}</td><td>{fmt(r.total)}</td>"
        f"<td>{escape(r.lag)}</td><td>{escape(r.dlq)}</td><td>{escape(r.notes)}</td></tr>"
        for r in rows
    )
    return (
        "<table><caption>Pipeline</caption><thead><tr><th>stage</th><th>rate/s</th>"
        "<th>total</th><th>lag</th><th>DLQ</th><th>notes</th></tr></thead>"
        f"<tbody>{lines}</tbody></table>"
    )


def history_page(
    reviewer: str,
    csrf: str,
    item: Item,
    verdicts: list[tuple[datetime, ModerationVerdict]],
    decisions: list[ReviewDecision],
) -> str:
    vrows = "".join(
        f"<tr><td>{_t(at)}</td><td>{v.verdict.value}</td><td>{escape(v.provider or '-')}</td>"
        f"<td>{_labels(v)}</td><td>{escape(v.reason or '')}</td></tr>"
        for at, v in verdicts
    )
    drows = (
        "".join(
            f"<tr><td>{_t(d.decided_at)}</td><td>{escape(d.reviewer)}</td><td>{d.action.value}</td>"
            f"<td>{d.verdict.value}</td><td>{escape(d.note)}</td><td>{d.unblock}</td></tr>"
            for d in decisions
        )
        or '<tr><td colspan="6">no decision yet</td></tr>'
    )
    facts = item.facts
    thumb = (
        f'<img class="thumb" src="/thumb/{quote(item.request_id, safe="")}" alt="screenshot">'
        if facts and facts.key
        else ""
    )
    caption = (
        f"channel {escape(facts.channel)} · user {escape(facts.user)} · {_t(facts.taken_at)}"
        if facts
        else ""
    )
    body = f"""<h1>History of {escape(item.request_id)}</h1>{thumb}
<p>project {escape(item.project)} · {caption}</p>
<table id="verdicts"><caption>Verdicts</caption><thead><tr><th>published</th><th>verdict</th>
<th>provider</th><th>labels</th><th>reason</th></tr></thead><tbody>{vrows}</tbody></table>
<table id="decisions"><caption>Decisions</caption><thead><tr><th>decided</th><th>reviewer</th>
<th>action</th><th>verdict judged</th><th>note</th><th>unblock</th></tr></thead>
<tbody>{drows}</tbody></table>"""
    return _layout(f"history {item.request_id}", reviewer, csrf, body)


def asyncapi_page(reviewer: str, csrf: str, channels: list[tuple[str, str, str]]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{escape(title)}</td>"
        f"<td>{escape(description)}</td></tr>"
        for name, title, description in channels
    )
    body = f"""<h1>AsyncAPI: shotline's topics</h1>
<p>The whole document: <a href="/asyncapi.json">asyncapi.json</a> (AsyncAPI 3.0, with every
record's JSON schema).</p>
<table id="channels"><thead><tr><th>topic</th><th>operation</th><th>description</th></tr></thead>
<tbody>{rows}</tbody></table>"""
    return _layout("shotline AsyncAPI", reviewer, csrf, body)
