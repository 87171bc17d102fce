"""Diagnostic jobs exercise dispatch only (runners, callbacks, events): they take none
of the events that record something."""

from __future__ import annotations

from api.db.models import DiagnosticJob, JobKind
from api.services.jobs.kinds.base import JobKindSpec

SPEC = JobKindSpec(kind=JobKind.DIAGNOSTIC, model=DiagnosticJob)
