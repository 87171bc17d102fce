"""What the API and the functions agree on: pydantic-only, imported by both sides.

Nothing here imports `api`, torch or a framework.
"""
