"""Worker entry points. Every runner starts a job as `python -m functions SPEC_FILE` (or
modal_app.py's functions, with the spec as a dict): functions/harness.py runs the
function module its kind names (train, evaluate, infer, export, diagnostic), which
talks to the API only through callbacks.

Never imports `api`.
"""
