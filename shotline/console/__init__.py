"""The review console (``shotline console``): reviewers confirm or overturn flagged
screenshots; see ``app`` and docs/console.md."""

from shotline.console.app import ConsoleApp
from shotline.console.auth import hash_password
from shotline.console.settings import ConsoleSettings, Reviewer

__all__ = ["ConsoleApp", "ConsoleSettings", "Reviewer", "hash_password"]
