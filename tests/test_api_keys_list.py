"""`GET /api/v1/deployments/api-keys`: the keys of all the caller's deployments, as the
console's usage screen lists them: prefixes only, the deployment's name, which keys a
newer one revoked, and when a key was last used."""

from __future__ import annotations

from tests.test_endpoint import _json, _png, deploy


def _keys(client, account) -> list[dict]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/deployments/api-keys", headers=account.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def test_lists_every_key_by_prefix_with_its_deployment_newest_first(client, make_user):
    account = make_user("engineer_i")
    first = deploy(client, account, name="first")
    second = deploy(client, account, name="second")
    r = client.post(f"/api/v1/deployments/{first.id}/api-keys", headers=account.headers)
    assert r.status_code == 201, r.text
    rotated = r.json()

    keys = _keys(client, account)
    assert [(k["prefix"], k["deployment_name"]) for k in keys] == [
        (rotated["prefix"], "first"),
        (second.body["api_key_prefix"], "second"),
        (first.body["api_key_prefix"], "first"),
    ]
    assert [k["revoked_at"] is None for k in keys] == [True, True, False]
    assert all("api_key" not in k and "key_hash" not in k for k in keys)
    assert not any(k["prefix"] in k.get("api_key", "") for k in keys)


def test_a_key_that_was_used_says_when(client, make_user):
    account = make_user("engineer_i")
    endpoint = deploy(client, account, tier="enterprise")
    assert _keys(client, account)[0]["last_used_at"] is None
    assert endpoint.call(**_json(_png())).status_code == 200
    (key,) = _keys(client, account)
    assert key["last_used_at"] is not None


def test_nobody_sees_another_users_keys(client, make_user):
    owner, other = make_user("engineer_i"), make_user("engineer_i")
    deploy(client, owner)
    assert _keys(client, other) == []
    assert client.get("/api/v1/deployments/api-keys").status_code == 401
