"""``shotline console``: registered, explained, and its password hashing helper."""

from __future__ import annotations

from argon2 import PasswordHasher
from typer.testing import CliRunner

from shotline.cli import app


def test_console_help_explains_the_command() -> None:
    result = CliRunner().invoke(app, ["console", "--help"])
    assert result.exit_code == 0
    for words in ("review", "--host", "--port", "--hash-password", "docs/console.md"):
        assert words in result.output


def test_hash_password_prints_an_argon2id_hash_of_stdin() -> None:
    result = CliRunner().invoke(app, ["console", "--hash-password"], input="s3cret-words\n")
    assert result.exit_code == 0
    hashed = result.output.strip()
    assert hashed.startswith("$argon2id$")
    assert PasswordHasher().verify(hashed, "s3cret-words")


def test_hash_password_refuses_a_short_one() -> None:
    result = CliRunner().invoke(app, ["console", "--hash-password"], input="short\n")
    assert result.exit_code != 0
