"""`vap` as a user runs it: a real process of the installed command, against the live API
over real HTTP. Login saves a config file, uploads show progress, training is followed
live, jobs can be listed, shown and replayed, and errors say what the API said."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.digits import digits_imagefolder_zip

ROOT = Path(__file__).parents[1]
VAP = Path(sys.executable).parent / "vap"  # the console script of this virtualenv
TINY_TRAINING = {
    "batch_size": 64,
    "learning_rate": 0.001,
    "augmentation": "none",
    "pretrained": False,
}


class Vap:
    """Runs `vap` with a config file of its own (a user's home)."""

    def __init__(self, home: Path) -> None:
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "VAP_CONFIG": str(home / "vap.json"),
            "PYTHONPATH": str(ROOT),
            "COLUMNS": "200",
        }

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VAP), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(VAP), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # As from a terminal: a shell's background job (`./test.sh &`) ignores SIGINT,
            # and its children would inherit that and never see the Ctrl-C this test sends.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


@pytest.fixture()
def vap(tmp_path, live_server):  # type: ignore[no-untyped-def]
    run = Vap(tmp_path)
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    r = run(
        "login",
        "--server",
        live_server,
        "--email",
        email,
        "--password",
        "cli password 1",
        "--register",
    )
    assert r.returncode == 0, r.stderr
    return run


def test_login_saves_the_server_and_a_token_for_the_next_commands(tmp_path, live_server):
    run = Vap(tmp_path)
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    r = run(
        "login",
        "--server",
        live_server,
        "--email",
        email,
        "--password",
        "cli password 1",
        "--register",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["user"]["email"] == email
    saved = json.loads((tmp_path / "vap.json").read_text())
    assert saved["server"] == live_server and saved["token"]
    assert (tmp_path / "vap.json").stat().st_mode & 0o077 == 0  # it holds a token
    listed = run("datasets", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["items"] == []
    wrong = run("login", "--server", live_server, "--email", email, "--password", "wrong one!")
    assert wrong.returncode == 1
    assert "error: Incorrect email or password (401 invalid_credentials)" in wrong.stderr


def test_upload_train_and_follow_then_list_show_and_replay_the_job(vap, tmp_path):
    archive = tmp_path / "digits.zip"
    archive.write_bytes(digits_imagefolder_zip(per_class=20, size=32))
    up = vap("datasets", "upload", str(archive), "--name", "digits")
    assert up.returncode == 0, up.stderr
    assert "ready: 200 images, 10 classes" in up.stdout
    assert "uploading digits.zip [" in up.stderr and "100.0%" in up.stderr

    config = tmp_path / "train.json"
    config.write_text(json.dumps(TINY_TRAINING))
    started = time.monotonic()
    train = vap(
        "train",
        "--dataset",
        "digits",
        "--model",
        "resnet18",
        "--epochs",
        "2",
        "--image-size",
        "32",
        "--config",
        str(config),
    )
    print(f"vap train (2 epochs at 32 px, 200 digits): {time.monotonic() - started:.1f} s")
    assert train.returncode == 0, train.stdout + train.stderr
    # Followed live: a bar per epoch (stderr), a line of metrics per validation, the result.
    assert "epoch 1/2 [" in train.stderr and "epoch 2/2 [" in train.stderr
    lines = train.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines if ln.startswith("epoch ")] == ["epoch 1", "epoch 2"]
    assert "accuracy" in lines[-1] and lines[-1].startswith("best epoch")
    assert "training completed" in train.stdout

    listed = vap("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (job,) = json.loads(listed.stdout)
    assert job["kind"] == "training" and job["status"] == "completed"
    shown = vap("jobs", "show", job["id"])
    assert "kind         training" in shown.stdout and "resnet18" in shown.stdout
    logs = vap("jobs", "logs", job["id"])
    assert logs.returncode == 0 and "validation" in logs.stdout
    assert logs.stdout.splitlines()[-1].split()[-1] in ("completed", "callback_ignored") or (
        "completed" in logs.stdout
    )
    replay = vap("jobs", "logs", job["id"], "--follow", "--json")
    events = [json.loads(line) for line in replay.stdout.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert any(e["type"] == "status" and e["data"]["status"] == "completed" for e in events)


def test_train_with_json_prints_only_the_job_on_stdout_and_ctrl_c_detaches(vap, tmp_path):
    archive = tmp_path / "digits.zip"
    archive.write_bytes(digits_imagefolder_zip(per_class=5, size=32))
    assert vap("datasets", "upload", str(archive), "--json").returncode == 0
    detached = vap(
        "train",
        "--dataset",
        "digits",
        "--model",
        "resnet18",
        "--epochs",
        "1",
        "--image-size",
        "32",
        "--detach",
        "--json",
    )
    assert detached.returncode == 0, detached.stderr
    job = json.loads(detached.stdout)  # nothing else on stdout
    assert job["status"] in ("pending", "queued", "running")

    # Following a long job, Ctrl-C without a terminal leaves the job running (detach).
    proc = vap.popen(
        "train",
        "--dataset",
        "digits",
        "--model",
        "resnet18",
        "--epochs",
        "50",
        "--image-size",
        "32",
        "--json",
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out == "" and "detached" in err
    long_job = err.split("training job ")[1].split(":")[0]
    cancel = vap("jobs", "cancel", long_job)
    assert cancel.returncode == 0 and "cancelled" in cancel.stdout, cancel.stderr
    vap("jobs", "cancel", job["id"])  # may have ended already: either way it stops


def test_errors_are_the_apis_message_and_a_non_zero_exit(vap, tmp_path):
    missing = str(uuid.uuid4())
    r = vap("train", "--dataset", missing, "--model", "resnet18")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and "(404 not_found)" in r.stderr
    r = vap("jobs", "show", missing)
    assert r.returncode == 1 and f"Job {missing} not found" in r.stderr
    r = vap("datasets", "show", "no such dataset")
    assert r.returncode == 1 and "No dataset with the id or name 'no such dataset'" in r.stderr

    stranger = Vap(tmp_path / "stranger")
    r = stranger("datasets", "list")
    assert r.returncode == 1 and "not logged in" in r.stderr
    stranger.env["VAP_SERVER"] = "http://127.0.0.1:9"  # nothing listens there
    stranger.env["VAP_TOKEN"] = "x"
    r = stranger("datasets", "list")
    assert r.returncode == 1 and "cannot reach the API at http://127.0.0.1:9" in r.stderr


def test_export_deploy_infer_and_usage_from_the_command_line(vap, tmp_path):
    archive = tmp_path / "digits.zip"
    digits = digits_imagefolder_zip(per_class=10, size=32)
    archive.write_bytes(digits)
    assert vap("datasets", "upload", str(archive)).returncode == 0
    config = tmp_path / "train.yaml"
    config.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in TINY_TRAINING.items()))
    trained = vap(
        "train",
        "--dataset",
        "digits",
        "--model",
        "resnet18",
        "--epochs",
        "1",
        "--image-size",
        "32",
        "--config",
        str(config),
        "--json",
    )
    assert trained.returncode == 0, trained.stderr
    job = json.loads(trained.stdout)

    exported = vap("export", job["id"], "--format", "onnx")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "export completed" in exported.stdout and "onnx v1" in exported.stdout
    (export,) = [
        e for e in json.loads(vap("jobs", "list", "--json").stdout) if e["kind"] == "export"
    ]

    deployed = vap("deploy", export["id"], "--json")
    assert deployed.returncode == 0, deployed.stderr
    deployment = json.loads(deployed.stdout)
    assert deployment["strategy"] == "platform_endpoint" and deployment["api_key"]

    image = tmp_path / "digit.png"
    with zipfile.ZipFile(io.BytesIO(digits)) as z:
        image.write_bytes(z.read(next(n for n in z.namelist() if n.endswith(".png"))))
    # The endpoint needs the API key, not a login: no config file, only the server.
    vap.env["VAP_SERVER"] = json.loads((tmp_path / "vap.json").read_text())["server"]
    vap.env["VAP_CONFIG"] = str(tmp_path / "nobody.json")
    answer = vap(
        "infer",
        str(image),
        "--deployment",
        deployment["id"],
        "--key",
        deployment["api_key"],
        "--top-k",
        "3",
        "--json",
    )
    assert answer.returncode == 0, answer.stderr
    prediction = json.loads(answer.stdout)
    assert len(prediction["classes"]) == 3 and prediction["task_type"] == "image_classification"
    wrong = vap("infer", str(image), "--deployment", deployment["id"], "--key", "vap_wrong")
    assert wrong.returncode == 1 and "(401 " in wrong.stderr
    used = vap("usage", deployment["id"], "--key", deployment["api_key"], "--json")
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout)["requests_this_month"] >= 1

    # The deployment's lifecycle through the Python client, with the CLI's saved login.
    from vap_client import Client, Conflict, Unauthorized

    saved = json.loads((tmp_path / "vap.json").read_text())
    with Client(saved["server"], saved["token"]) as api:
        dep_id, old_key = deployment["id"], deployment["api_key"]
        assert [d.id for d in api.list_deployments().items] == [dep_id]
        assert api.deployment_history(dep_id)[0].event_type
        new_key = api.rotate_api_key(dep_id).api_key
        with pytest.raises(Unauthorized):
            api.infer(dep_id, image, api_key=old_key)
        assert api.infer(dep_id, image.read_bytes(), api_key=new_key).classes
        assert api.deactivate_deployment(dep_id).status == "inactive"
        with pytest.raises(Conflict) as refused:
            api.infer(dep_id, image, api_key=new_key)
        assert refused.value.code == "inactive"
        assert api.activate_deployment(dep_id).status == "active"
        api.delete_deployment(dep_id)
        assert api.list_deployments().total == 0
