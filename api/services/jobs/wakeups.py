"""Waking event streams the moment a job gets a new event.

On PostgreSQL one LISTEN connection per API process (per event loop) receives the
NOTIFY every append sends, and wakes the streams of that job, on whichever replica
they are. With SQLite, or while the listener reconnects, streams simply re-check
after `fallback` seconds: a wake-up can be late, never lost, because streams always
read the log itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator

from api.services.jobs.events import CHANNEL
from api.settings import Settings

log = logging.getLogger("api.jobs.wakeups")


class Wakeups:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while LISTEN is in place

    def _ensure_listener(self) -> None:
        if self.settings.is_sqlite or (self.listener is not None and not self.listener.done()):
            return
        self.listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        import psycopg

        url = self.settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    delay = 0.5
                    async for note in conn.notifies():
                        for event in self.waiters.get(note.payload, ()):
                            event.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect; streams poll meanwhile
                self.listening.clear()
                log.warning("job event listener lost its connection: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[Watch]:
        """Wake-ups for `job_id` from now until the block ends. Made before a stream's
        first read, so an event appended while the stream reads is never missed."""
        self._ensure_listener()
        event = asyncio.Event()
        self.waiters[job_id].add(event)
        try:
            yield Watch(event)
        finally:
            self.waiters[job_id].discard(event)
            if not self.waiters[job_id]:
                del self.waiters[job_id]


class Watch:
    def __init__(self, event: asyncio.Event) -> None:
        self._event = event

    async def wait(self, timeout: float) -> bool:
        """True when the job may have a new event since the last wait returned (at once
        if one came meanwhile); False after `timeout` seconds without one."""
        woken = True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            woken = False
        self._event.clear()  # before the caller reads: a later NOTIFY sets it again
        return woken


_by_loop: dict[int, Wakeups] = {}


def for_current_loop(settings: Settings) -> Wakeups:
    """The process's Wakeups for the running event loop (tests run several loops)."""
    loop = asyncio.get_running_loop()
    wakeups = _by_loop.get(id(loop))
    if wakeups is None or wakeups.settings is not settings:
        wakeups = _by_loop[id(loop)] = Wakeups(settings)
    return wakeups
