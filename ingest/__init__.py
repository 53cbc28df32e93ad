"""The HTTP edge: parse, verify, publish (or spool), answer 200 JSON."""
