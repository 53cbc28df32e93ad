"""An example third-party processor: it plugs into shotline by import path alone.

Run it with ``shotline process examples.plugin_example.flagger:processor``.
"""
