"""Showing a job's events to a person as they come: a progress bar per training epoch
(from heartbeats), one line of metrics per validation, log lines, the final status.
Bars go to stderr; the lines worth keeping go to `out` (stdout, or stderr under --json)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from vap_client.models import JobEvent
from vap_client.progress import Bar

# Shown first among a validation's metrics, when present.
_LEADING = ("accuracy", "top5_accuracy", "f1_macro", "mAP50-95", "mAP50", "mask_mAP50-95")
_HIDDEN = ("epoch_seconds", "images_per_second")


def format_metrics(metrics: dict[str, Any], limit: int = 5) -> str:
    keys = [k for k in _LEADING if k in metrics]
    keys += [k for k in metrics if k not in keys and k not in _HIDDEN][: max(0, limit - len(keys))]
    return "  ".join(f"{k} {_num(metrics[k])}" for k in keys[:limit])


def _num(value: Any) -> str:
    # A non-finite metric comes as its name ("nan", "inf", "-inf") and is shown so.
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def format_event(event: JobEvent) -> str:
    """One line per event, for `vap jobs logs`."""
    d = event.data
    when = (event.created_at or "")[11:19]
    if event.type == "status":
        text = d.get("status", "")
        if d.get("error"):
            text += f": {d['error']}"
    elif event.type == "heartbeat":
        text = d.get("message") or f"{d.get('progress', 0):.0f}%"
        loss = _short(d.get("metrics") or {})
        text += f"  {loss}" if loss else ""
    elif event.type == "validation":
        metrics = {**d.get("primary", {}), **d.get("metrics", {})}
        text = f"epoch {d.get('epoch')}: {format_metrics(metrics)}"
        text += "  (best)" if d.get("is_best") else ""
    elif event.type == "log":
        text = str(d.get("message", ""))
    else:
        text = " ".join(f"{k}={v}" for k, v in d.items() if not isinstance(v, dict | list))
    return f"{event.seq:>5}  {when}  {event.type:<12} {text}".rstrip()


class LiveView:
    """Feed it each event (`view(event)`); `close()` ends any open bar."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        label: str = "",
        indent: str = "",
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.label = label
        self.indent = indent
        self.validated_epoch = 0
        self.bar: Bar | None = None
        self.bar_epoch: int | None = None
        self.total_epochs: int | None = None
        self.final_status: str | None = None
        self.validations: list[dict[str, Any]] = []

    def __call__(self, event: JobEvent) -> None:
        d = event.data
        if event.type == "heartbeat":
            self._heartbeat(d)
        elif event.type == "validation":
            self._validation(d)
        elif event.type == "status":
            self._status(d, event.attempt)
        elif event.type == "log":
            if d.get("level") in ("error", "warning"):
                self._line(
                    f"  {d.get('level')}: {str(d.get('message', '')).strip()[-2000:]}", err=True
                )
            elif d.get("message"):
                self._line(f"  {d['message']}", err=True)
        elif event.type == "metrics":  # a test run's measured metrics
            self._close_bar()
            self._line(
                f"  metrics: {format_metrics({**d.get('primary', {}), **d.get('metrics', {})})}"
            )

    def close(self) -> None:
        self._close_bar()

    def _heartbeat(self, d: dict[str, Any]) -> None:
        epoch, total = d.get("epoch"), d.get("total_epochs")
        progress = float(d.get("progress") or 0.0)
        if epoch and total:
            self.total_epochs = int(total)
            if epoch <= self.validated_epoch:
                return  # the epoch's closing heartbeat: its line is printed already
            if self.bar_epoch != epoch:
                self._close_bar()
                self.bar = Bar(f"{self.indent}epoch {epoch}/{total}", stream=self.err)
                self.bar_epoch = epoch
            within = progress * total / 100 - (epoch - 1)
            assert self.bar is not None
            self.bar.update(min(max(within, 0.0), 1.0) * 100, _short(d.get("metrics") or {}))
            return
        if self.bar is None:
            self.bar = Bar(f"{self.indent}{self.label or 'progress'}", stream=self.err)
        self.bar.update(progress, str(d.get("message") or ""))

    def _validation(self, d: dict[str, Any]) -> None:
        epoch = int(d.get("epoch") or 0)
        if self.bar_epoch != epoch and epoch and self.total_epochs:
            # An epoch quicker than the heartbeat interval sent no progress: still one bar
            # per epoch, shown full.
            self._close_bar()
            self.bar = Bar(f"{self.indent}epoch {epoch}/{self.total_epochs}", stream=self.err)
            self.bar_epoch = epoch
        self._close_bar(full=True)
        self.validations.append(d)
        self.validated_epoch = max(self.validated_epoch, int(d.get("epoch") or 0))
        metrics = {**d.get("primary", {}), **d.get("metrics", {})}
        seconds = d.get("metrics", {}).get("epoch_seconds")
        tail = f"  ({seconds:.1f} s)" if isinstance(seconds, float) else ""
        best = "  *best*" if d.get("is_best") else ""
        self._line(f"epoch {d.get('epoch')}: {format_metrics(metrics)}{best}{tail}")

    def _status(self, d: dict[str, Any], attempt: int) -> None:
        status = d.get("status", "")
        if status in ("completed", "failed", "cancelled"):
            self._close_bar(full=status == "completed")
            self.final_status = status
            error = f": {d['error']}" if d.get("error") else ""
            self._line(
                f"{self.label + ' ' if self.label else ''}{status}{error}",
                err=status != "completed",
            )
        elif status == "running" and attempt > 1:
            self._line(f"  attempt {attempt} running", err=True)
        elif status:
            self._line(f"  status: {status}", err=True)

    def _close_bar(self, full: bool = False) -> None:
        if self.bar is not None:
            if full:
                self.bar.update(self.bar.total)
            self.bar.close()
        self.bar, self.bar_epoch = None, None

    def _line(self, text: str, err: bool = False) -> None:
        if self.bar is not None and self.bar.live and not self.bar.closed:
            self.err.write("\r\x1b[K")  # clear the bar; it redraws on its next update
        stream = self.err if err else self.out
        stream.write(self.indent + text + "\n")
        stream.flush()


def _short(metrics: dict[str, Any]) -> str:
    loss = metrics.get("loss", metrics.get("train/loss"))
    return "" if loss is None else f"loss {_num(loss)}"
