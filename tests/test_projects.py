"""Projects: CRUD, pagination, unique names, and the guest quota."""

from __future__ import annotations


def test_create_get_update_delete_a_project(client, make_user):
    user = make_user("engineer_i")
    r = client.post(
        "/api/v1/projects",
        json={"name": "Cats", "description": "cat vs dog", "task_type": "image_classification"},
        headers=user.headers,
    )
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["owner_id"] == user.id and project["task_type"] == "image_classification"

    got = client.get(f"/api/v1/projects/{project['id']}", headers=user.headers)
    assert got.json() == project

    patched = client.patch(
        f"/api/v1/projects/{project['id']}", json={"name": "Cats v2"}, headers=user.headers
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Cats v2" and patched.json()["description"] == "cat vs dog"

    assert (
        client.delete(f"/api/v1/projects/{project['id']}", headers=user.headers).status_code == 204
    )
    assert client.get(f"/api/v1/projects/{project['id']}", headers=user.headers).status_code == 404


def test_project_names_are_unique_per_owner_not_globally(client, make_user):
    a, b = make_user("engineer_i"), make_user("engineer_i")
    assert (
        client.post("/api/v1/projects", json={"name": "Shared"}, headers=a.headers).status_code
        == 201
    )
    dup = client.post("/api/v1/projects", json={"name": "Shared"}, headers=a.headers)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "name_taken"
    assert (
        client.post("/api/v1/projects", json={"name": "Shared"}, headers=b.headers).status_code
        == 201
    )


def test_renaming_onto_an_existing_name_is_a_conflict_and_changes_nothing(client, make_user):
    user = make_user("engineer_i")
    client.post("/api/v1/projects", json={"name": "One"}, headers=user.headers)
    two = client.post("/api/v1/projects", json={"name": "Two"}, headers=user.headers).json()
    r = client.patch(f"/api/v1/projects/{two['id']}", json={"name": "One"}, headers=user.headers)
    assert r.status_code == 409
    assert client.get(f"/api/v1/projects/{two['id']}", headers=user.headers).json()["name"] == "Two"


def test_a_project_name_cannot_be_set_to_null_or_empty(client, make_user):
    user = make_user("engineer_i")
    p = client.post("/api/v1/projects", json={"name": "Keep"}, headers=user.headers).json()
    for bad in ({"name": None}, {"name": ""}, {"task_type": "juggling"}):
        r = client.patch(f"/api/v1/projects/{p['id']}", json=bad, headers=user.headers)
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "validation_error"


def test_guests_are_limited_to_one_project(client, make_user):
    guest = make_user()
    assert (
        client.post("/api/v1/projects", json={"name": "First"}, headers=guest.headers).status_code
        == 201
    )
    second = client.post("/api/v1/projects", json={"name": "Second"}, headers=guest.headers)
    assert second.status_code == 403
    assert second.json()["error"]["code"] == "quota_exceeded"
    assert client.get("/api/v1/projects", headers=guest.headers).json()["total"] == 1


def test_listing_is_paginated_newest_first(client, make_user):
    user = make_user("engineer_i")
    names = [f"p{i}" for i in range(5)]
    for name in names:
        client.post("/api/v1/projects", json={"name": name}, headers=user.headers)
    first = client.get("/api/v1/projects?limit=2&offset=0", headers=user.headers).json()
    rest = client.get("/api/v1/projects?limit=10&offset=2", headers=user.headers).json()
    assert first["total"] == rest["total"] == 5
    assert [p["name"] for p in first["items"] + rest["items"]] == list(reversed(names))
    bad = client.get("/api/v1/projects?limit=0", headers=user.headers)
    assert bad.status_code == 422


def test_admins_see_every_project(client, make_user, admin):
    user = make_user("engineer_i")
    p = client.post("/api/v1/projects", json={"name": "Mine"}, headers=user.headers).json()
    assert client.get(f"/api/v1/projects/{p['id']}", headers=admin.headers).status_code == 200
