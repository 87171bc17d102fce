"""AWS Lambda entry points: the API behind Mangum, and the reconciler on a schedule.

Mangum runs the lifespan on every invocation, so the app creates engines and
clients lazily and keeps them in module globals between warm invocations. Mangum
buffers whole responses: event streams answer a bounded catch-up there
(api/services/jobs/streams.py).
"""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from api.main import app

handler = Mangum(app, lifespan="off")


def reconcile_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """For an EventBridge schedule (infra/template.yaml): one reconciler pass."""
    from api.db.session import new_session
    from api.services.jobs.reconciler import reconcile
    from api.services.webhooks import deliver_due
    from api.settings import get_settings

    with new_session() as db:
        summary = reconcile(db, get_settings())
        deliver_due(db, get_settings())
    return {"checked": summary.checked, "retried": summary.retried, "failed": summary.failed}
