# shellcheck shell=bash
# apps.sh — how the shell suites (tests/system, tests/container) start the test apps of
# tests/apps; each suite's lib.sh sources it.

# fastapi_exec PORT: the command that serves the FastAPI test app (app_fastapi.py) on PORT,
# run in the apps' directory.
fastapi_exec() { echo "/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port $1"; }
