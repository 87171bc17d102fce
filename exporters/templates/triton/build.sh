#!/usr/bin/env sh
# Builds the Triton image for {{MODEL_NAME}} and checks the server loads the model.
set -eu
cd "$(dirname "$0")"
IMAGE=${1:-{{IMAGE_NAME}}}
docker build -t "$IMAGE" .
echo "built $IMAGE"
echo "run:   docker run --rm --gpus all -p 8000:8000 -p 8001:8001 -p 8002:8002 $IMAGE"
echo "ready: curl -fs localhost:8000/v2/models/{{TRITON_NAME}}/ready && echo ok"
