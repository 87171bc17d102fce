"""Worker entry points. Each module runs as `python -m functions.<name> SPEC_FILE` under
every runner, reads its JobSpec and talks to the API only through callbacks.

Never imports `api`.
"""
