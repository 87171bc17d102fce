"""The Python client (vap_client) against the live API process over real HTTP: typed
answers, the API's errors as exceptions, uploads with progress (form and straight to
storage), and a job's event stream that survives dropped connections."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from tests.digits import digits_imagefolder_zip
from vap_client import Client, Conflict, NotFound, Unauthorized, ValidationFailed
from vap_client.models import Dataset, TrainingJob

ROOT = Path(__file__).parents[1]
PASSWORD = "client tests password"


def _new_account(base: str) -> tuple[Client, str]:
    client = Client(base)
    email = f"client-{uuid.uuid4().hex[:8]}@example.com"
    client.register(email, PASSWORD)
    client.login(email, PASSWORD)
    return client, email


@pytest.fixture()
def vap(live_server):  # type: ignore[no-untyped-def]
    client, _ = _new_account(live_server)
    with client:
        yield client


# --- accounts and errors ------------------------------------------------------------------


def test_register_login_and_me_answer_typed_objects(live_server):
    client, email = _new_account(live_server)
    me = client.me()
    assert me.email == email and me.role and me.id
    assert client.token


def test_api_errors_carry_the_code_message_and_status(live_server, vap):
    with pytest.raises(Unauthorized) as bad_login:
        Client(live_server).login(vap.me().email, "not the password")
    assert bad_login.value.status_code == 401 and bad_login.value.code == "invalid_credentials"
    assert bad_login.value.message == "Incorrect email or password"
    with pytest.raises(Conflict) as taken:
        Client(live_server).register(vap.me().email, PASSWORD)
    assert taken.value.code == "email_taken" and taken.value.status_code == 409
    with pytest.raises(NotFound) as missing:
        vap.get_dataset(str(uuid.uuid4()))
    assert missing.value.status_code == 404 and missing.value.code == "not_found"
    with pytest.raises(Unauthorized):
        Client(live_server).me()  # no login


def test_a_config_value_the_schema_refuses_names_the_field(vap):
    with pytest.raises((ValidationFailed, NotFound)) as refused:
        vap.create_training_job(str(uuid.uuid4()), "resnet18", config={"epochs": 0})
    # Either the dataset is unknown (404) or the config is refused (422): both say which.
    assert refused.value.message


def test_the_catalog_and_the_config_schema(vap):
    models = vap.list_models(task_type="image_classification", framework="timm")
    assert any(m.name == "resnet18" for m in models)
    schema = vap.config_schema("timm", "image_classification")
    assert "presets" in schema or "fields" in schema


def test_webhooks_are_created_listed_pinged_and_deleted(vap):
    hook = vap.create_webhook("http://127.0.0.1:9/hook", ["job.completed"], "client test")
    assert hook.secret and hook.event_types == ["job.completed"]  # the secret, shown once
    assert [h.id for h in vap.list_webhooks().items] == [hook.id]
    assert vap.get_webhook(hook.id).secret is None
    assert vap.update_webhook(hook.id, is_active=False).is_active is False
    assert vap.ping_webhook(hook.id).event_type == "ping"
    assert vap.webhook_deliveries(hook.id).total == 1
    vap.delete_webhook(hook.id)
    with pytest.raises(NotFound):
        vap.get_webhook(hook.id)


def test_chat_answers_a_config_or_questions_in_a_conversation(vap):
    reply = vap.chat("fine-tune resnet18 for 3 epochs")
    assert reply.status in ("complete", "needs_clarification") and reply.reply
    assert reply.status == "complete" or reply.questions
    listed = vap.list_conversations()
    assert [c["id"] for c in listed.items] == [reply.conversation_id]
    assert vap.get_conversation(reply.conversation_id)["messages"]
    vap.delete_conversation(reply.conversation_id)
    assert vap.list_conversations().total == 0


# --- datasets -----------------------------------------------------------------------------


def test_upload_as_a_form_reports_progress_and_answers_the_ready_dataset(vap, tmp_path):
    archive = tmp_path / "digits.zip"
    archive.write_bytes(digits_imagefolder_zip(per_class=5, size=16))
    seen: list[tuple[int, int]] = []
    dataset = vap.upload_dataset(archive, "digits", progress=lambda s, t: seen.append((s, t)))
    assert isinstance(dataset, Dataset)
    assert dataset.status == "ready" and dataset.num_images == 50 and dataset.num_classes == 10
    assert seen and seen[-1] == (archive.stat().st_size, archive.stat().st_size)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    assert vap.find_dataset("digits").id == dataset.id == vap.get_dataset(dataset.id).id
    assert [d.id for d in vap.list_datasets().items] == [dataset.id]
    vap.delete_dataset(dataset.id)
    assert vap.list_datasets().total == 0


def test_a_folder_goes_straight_to_storage_in_parts_when_large(vap, tmp_path):
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(digits_imagefolder_zip(per_class=5, size=16))) as z:
        z.extractall(tmp_path / "digits")
    seen: list[tuple[int, int]] = []
    dataset = vap.upload_dataset(
        tmp_path / "digits", "folder", direct_threshold=0, progress=lambda s, t: seen.append((s, t))
    )
    assert dataset.status == "ready" and dataset.num_images == 50
    assert seen and seen[-1][0] == seen[-1][1]  # every part sent


# --- jobs and their events ----------------------------------------------------------------


class DroppingProxy:
    """A TCP proxy in front of the API that can cut every open connection at once, as a
    restarted load balancer or a flaky network does."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.open: list[socket.socket] = []
        self.accepted = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.accepted += 1
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.close()

    def drop_all(self) -> None:
        with self.lock:
            sockets, self.open = self.open, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()
        self.drop_all()


def test_events_resume_after_dropped_connections_with_no_gap_and_no_duplicate(vap, live_server):
    job = vap.create_diagnostic_job(heartbeats=30, interval=0.1)
    proxy = DroppingProxy(live_server)
    reconnects: list[int] = []
    try:
        through_proxy = Client(proxy.url, vap.token)
        got = []
        for event in through_proxy.events(
            job.id, on_reconnect=lambda last, _: reconnects.append(last)
        ):
            got.append(event)
            if len(got) in (5, 15):
                proxy.drop_all()  # mid-stream, twice
    finally:
        proxy.close()
    assert [e.seq for e in got] == list(range(1, len(got) + 1))
    assert got[-1].terminal_status == "completed"
    assert sum(e.type == "heartbeat" for e in got) == 30
    # Events already received before a drop are kept; it resumes after the last of them.
    assert len(reconnects) >= 2 and reconnects[0] >= 5
    assert proxy.accepted >= 3


def test_events_start_after_the_last_event_id_given(vap):
    job = vap.create_diagnostic_job(heartbeats=3, interval=0)
    assert vap.wait(job.id, timeout=60).status == "completed"
    everything = list(vap.events(job.id))
    rest = list(vap.events(job.id, last_event_id=2))
    assert [e.seq for e in rest] == [e.seq for e in everything][2:]
    assert vap.events_page(job.id, after=0).terminal


def test_wait_returns_the_ended_job_of_its_kind_and_cancel_ends_a_running_one(vap):
    job = vap.create_diagnostic_job(heartbeats=1000, interval=0.2)
    kind, found = vap.get_job(job.id)
    assert kind == "diagnostic" and found.id == job.id
    assert vap.cancel_job(job.id).status == "cancelled"
    with pytest.raises(Conflict) as again:
        vap.cancel_job(job.id)
    assert again.value.code == "job_ended"
    assert vap.wait(job.id, timeout=60).status == "cancelled"
    with pytest.raises(NotFound):
        vap.get_job(str(uuid.uuid4()))


def test_training_jobs_are_listed_typed(vap):
    page = vap.list_training_jobs()
    assert page.total == 0 and page.items == []
    assert TrainingJob.model_fields["best_metrics"]


# --- import cost --------------------------------------------------------------------------

SERVER_SIDE = [
    "fastapi",
    "starlette",
    "sqlalchemy",
    "uvicorn",
    "torch",
    "numpy",
    "PIL",
    "api.main",
    "api.db",
    "api.settings",
    "boto3",
    "yaml",
]


def _modules_loaded_by(code: str) -> list[str]:
    loaded = f"[m for m in {SERVER_SIDE!r} if m in sys.modules]"
    probe = f"import json, sys\n{code}\nprint(json.dumps({loaded}))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_client_imports_only_what_the_bare_install_has():
    assert _modules_loaded_by("import vap_client, vap_client.cli, vap_client.events") == []


def test_vap_help_loads_no_server_code():
    code = (
        "import sys, contextlib, io\n"
        "sys.argv = ['vap', '--help']\n"
        "import api.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    api.cli.app()"
    )
    assert _modules_loaded_by(code) == []
