"""`Client`: one object with a typed method for every public endpoint."""

from __future__ import annotations

from vap_client.accounts import AccountsAPI
from vap_client.chat import ChatAPI
from vap_client.datasets import DatasetsAPI
from vap_client.jobs import JobsAPI
from vap_client.serving import ServingAPI
from vap_client.training import TrainingAPI


class Client(AccountsAPI, DatasetsAPI, TrainingAPI, ServingAPI, JobsAPI, ChatAPI):
    """The Vision AI Training Platform's API at `base_url`, as the user whose login
    `token` it holds (or call `login`). Errors are `vap_client.ApiError` subclasses
    carrying the API's code, message and HTTP status.

        with Client("http://127.0.0.1:8000") as api:
            api.login("me@example.com", "a long password")
            ds = api.upload_dataset("pets.zip", name="pets")
            job = api.create_training_job(ds.id, "resnet18", config={"epochs": 3})
            for event in api.events(job.id):
                print(event.seq, event.type, event.data)
    """

    def __enter__(self) -> Client:
        return self
