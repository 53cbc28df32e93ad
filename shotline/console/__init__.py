"""The review console (``shotline console``): see ``app``."""
