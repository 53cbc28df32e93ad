"""The processor runner: contract, plumbing and the built-in registry."""
