"""The pay-per-call endpoint, `POST /v1/infer/{deployment_id}`: API keys, tier limits
shared by every replica, image checks, the per-process model cache, GPU forwarding to
Modal, and metering. `calls.py` puts them together for one request."""
