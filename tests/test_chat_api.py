"""Chat to training config over HTTP, with the rule-based parser (no Anthropic key): a
request becomes a job body that job creation accepts, a conversation accumulates over
several messages, and conversations are each user's own."""

from __future__ import annotations

import uuid

import pytest

from tests import dataset_builders as build
from tests.conftest import upload_dataset

URL = "/api/v1/chat"


def _dataset(client, account, name: str) -> str:  # type: ignore[no-untyped-def]
    r = upload_dataset(client, account, files=build.imagefolder_files(train=2, val=1), name=name)
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    return str(r.json()["id"])


def _say(client, account, message: str, conversation_id: str | None = None):  # type: ignore[no-untyped-def]
    r = client.post(
        f"{URL}/message",
        json={"message": message, "conversation_id": conversation_id},
        headers=account.headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture()
def user(make_user):  # type: ignore[no-untyped-def]
    return make_user("engineer_ii")


def test_a_complete_request_becomes_a_body_that_job_creation_accepts(client, user):
    cat_dog = _dataset(client, user, "cat-dog")
    _dataset(client, user, "street-scenes")
    out = _say(client, user, "Fine-tune a ResNet-50 on my cat-dog dataset for 10 epochs")
    assert out["status"] == "complete" and out["questions"] == []
    assert out["parser"] == "rules" and out["fallback_reason"] is None
    body = out["config"]
    assert {k: body[k] for k in ("dataset_id", "framework", "model_name", "task_type")} == {
        "dataset_id": cat_dog, "framework": "timm", "model_name": "resnet50",
        "task_type": "image_classification",
    }  # fmt: skip
    assert body["config"]["epochs"] == 10 and body["config"]["batch_size"] == 16
    assert "10 epochs" in out["reply"] and "resnet50" in out["reply"]

    job = client.post("/api/v1/training/jobs", json={**body, "start": False},
                      headers=user.headers)  # fmt: skip
    assert job.status_code == 201, job.text
    assert job.json()["config"] == body["config"]
    assert job.json()["total_epochs"] == 10


def test_a_conversation_fills_in_its_config_message_by_message(client, user):
    cats = _dataset(client, user, "cats-vs-dogs")
    _dataset(client, user, "street-scenes")
    first = _say(client, user, "I want to train an image classifier for 20 epochs")
    conv = first["conversation_id"]
    assert first["status"] == "needs_clarification" and first["config"] is None
    assert [q["field"] for q in first["questions"]] == ["dataset_id", "model_name"]
    assert set(first["questions"][0]["options"]) == {"cats-vs-dogs", "street-scenes"}
    assert first["partial_config"]["config"] == {"epochs": 20}

    second = _say(client, user, "use the cats one", conv)
    assert second["conversation_id"] == conv
    assert second["partial_config"]["dataset_id"] == cats
    assert [q["field"] for q in second["questions"]] == ["model_name"]

    third = _say(client, user, "a resnet please", conv)
    assert third["questions"][0]["options"] == ["resnet18", "resnet50"]

    fourth = _say(client, user, "50", conv)
    assert fourth["status"] == "complete"
    assert fourth["config"]["model_name"] == "resnet50"
    assert fourth["config"]["dataset_id"] == cats
    assert fourth["config"]["config"]["epochs"] == 20

    fifth = _say(client, user, "actually make it 30 epochs with batch size 8", conv)
    assert fifth["status"] == "complete"
    assert (fifth["config"]["config"]["epochs"], fifth["config"]["config"]["batch_size"]) == (30, 8)

    stored = client.get(f"{URL}/conversations/{conv}", headers=user.headers).json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 5
    assert stored["messages"][2]["content"] == "use the cats one"
    assert stored["status"] == "complete" and stored["config"] == fifth["config"]
    assert stored["partial_config"] == fifth["partial_config"]

    listed = client.get(f"{URL}/conversations", headers=user.headers).json()
    assert [c["id"] for c in listed["items"]] == [conv] and listed["total"] == 1

    assert client.delete(f"{URL}/conversations/{conv}", headers=user.headers).status_code == 204
    assert client.get(f"{URL}/conversations/{conv}", headers=user.headers).status_code == 404
    assert client.get(f"{URL}/conversations", headers=user.headers).json()["total"] == 0


def test_a_value_out_of_range_is_dropped_and_asked_about(client, user):
    _dataset(client, user, "cat-dog")
    out = _say(client, user, "resnet18 on cat-dog for 5000 epochs, lr 0.001")
    assert out["status"] == "needs_clarification"
    assert [q["field"] for q in out["questions"]] == ["config.epochs"]
    assert "at most 1000" in out["questions"][0]["question"]
    assert out["partial_config"]["config"] == {"learning_rate": 0.001}
    fixed = _say(client, user, "100 epochs then", out["conversation_id"])
    assert fixed["status"] == "complete" and fixed["config"]["config"]["epochs"] == 100


def test_korean_requests_get_korean_answers(client, user):
    ds = _dataset(client, user, "고양이-강아지")
    out = _say(client, user, "고양이 강아지 데이터셋으로 resnet18 학습해줘, 에폭 15, 배치 크기 32")
    assert out["status"] == "complete", out
    assert out["config"]["dataset_id"] == ds
    assert (out["config"]["config"]["epochs"], out["config"]["config"]["batch_size"]) == (15, 32)
    assert "학습 설정이 준비되었습니다" in out["reply"]
    ask = _say(client, user, "모델 학습하고 싶어요")
    assert ask["reply"].startswith("몇 가지를 더 알려 주세요")


def test_another_users_dataset_id_in_a_message_is_never_used(client, user, make_user):
    other = make_user("engineer_ii")
    theirs = _dataset(client, other, "secret-cats")
    _dataset(client, user, "my-cats")
    out = _say(client, user, f"train resnet18 on dataset {theirs}")
    assert out["status"] == "needs_clarification"
    assert "dataset_id" not in out["partial_config"]
    assert out["questions"][0]["field"] == "dataset_id"
    assert out["questions"][0]["options"] == ["my-cats"]
    # ... and is answered exactly as an id that does not exist: nothing is confirmed.
    missing = str(uuid.uuid4())
    absent = _say(client, user, f"train resnet18 on dataset {missing}")
    assert absent["questions"] == [
        {**q, "question": q["question"].replace(theirs, missing)} for q in out["questions"]
    ]


def test_another_users_conversation_answers_exactly_as_a_missing_one(client, user, make_user):
    _dataset(client, user, "cat-dog")
    conv = _say(client, user, "resnet18 on cat-dog")["conversation_id"]
    intruder = make_user("engineer_ii")
    missing = str(uuid.uuid4())
    for method, path in [("GET", "/conversations/{}"), ("DELETE", "/conversations/{}")]:
        foreign = client.request(method, URL + path.format(conv), headers=intruder.headers)
        absent = client.request(method, URL + path.format(missing), headers=intruder.headers)
        assert foreign.status_code == absent.status_code == 404
        assert foreign.json() == absent.json()
    foreign = client.post(f"{URL}/message", json={"message": "20 epochs", "conversation_id": conv},
                          headers=intruder.headers)  # fmt: skip
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    assert client.get(f"{URL}/conversations", headers=intruder.headers).json()["items"] == []
    mine = client.get(f"{URL}/conversations/{conv}", headers=user.headers).json()
    assert len(mine["messages"]) == 2  # the intruder's message never reached it


@pytest.mark.parametrize(
    "body",
    [
        {"message": ""},
        {"message": "x" * 4001},
        {"message": 12},
        {"conversation_id": None},
        {"message": "hi", "conversation_id": "not-a-uuid"},
    ],
)
def test_bad_messages_are_refused_in_the_common_shape(client, user, body):
    r = client.post(f"{URL}/message", json=body, headers=user.headers)
    assert r.status_code == 422, r.text
    assert set(r.json()["error"]) == {"code", "message", "details"}


def test_a_message_without_a_login_is_refused(client):
    r = client.post(f"{URL}/message", json={"message": "train resnet18"})
    assert r.status_code == 401


def test_a_dataset_deleted_after_it_was_chosen_is_asked_about_again(client, user):
    chosen = _dataset(client, user, "cat-dog")
    _dataset(client, user, "dog-breeds")
    out = _say(client, user, "resnet18 on cat-dog")
    assert out["status"] == "complete"
    assert client.delete(f"/api/v1/datasets/{chosen}", headers=user.headers).status_code == 204
    later = _say(client, user, "make it 12 epochs", out["conversation_id"])
    assert later["status"] == "needs_clarification" and later["config"] is None
    assert [(q["field"], q["options"]) for q in later["questions"]] == [
        ("dataset_id", ["dog-breeds"])
    ]
    assert "dataset_id" not in later["partial_config"]
    assert later["partial_config"]["model_name"] == "resnet18"
