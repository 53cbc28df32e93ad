"""Billing: per-second QPS, monthly peak, billable images and the Agora bill estimate."""
