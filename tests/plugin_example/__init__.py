"""An example third-party processor: it plugs into shotline by import path alone.

Run it with ``shotline process tests.plugin_example.flagger:processor``.
"""
