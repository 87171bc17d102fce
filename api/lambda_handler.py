"""AWS Lambda entry point: the same app behind Mangum.

Mangum runs the lifespan on every invocation, so the app creates engines and
clients lazily and keeps them in module globals between warm invocations.
"""

from __future__ import annotations

from mangum import Mangum

from api.main import app

handler = Mangum(app, lifespan="off")
