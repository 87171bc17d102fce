"""Metrics every trainer reports, computed by our own code for every framework alike."""
