"""Datasets: unpacking uploads, detecting and parsing formats, validating, the
normalized manifest, splits and snapshots.
"""
