"""Run command lines through the real AWS CLI (awscli v1, in process) against a closed loopback endpoint.

stdin: a JSON list of argv lists (each starting with "aws"). stdout: a JSON list, one verdict per argv:
{"runs": true} when the CLI parsed and validated the command and only failed to connect, else
{"runs": false, "error": "<the CLI's message>"}. Nothing leaves the machine: the endpoint is 127.0.0.1:9, retries are
off, and no configuration or credentials are read from the user's files.
"""
import contextlib
import io
import json
import os
import sys

os.environ.update(
    AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY="example",
    AWS_MAX_ATTEMPTS="1",
    AWS_RETRY_MODE="standard",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    AWS_PAGER="",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from awscli.clidriver import create_clidriver  # noqa: E402

CONNECT_FAILED = "Could not connect to the endpoint URL"


def verdict(argv):
    if not argv or argv[0] != "aws":
        return {"runs": False, "error": "not an aws command"}
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = create_clidriver().main(
                argv[1:] + ["--endpoint-url", "http://127.0.0.1:9", "--cli-connect-timeout", "1"]
            )
        except SystemExit as e:
            rc = e.code
    message = err.getvalue().strip()
    if CONNECT_FAILED in message:
        return {"runs": True}
    return {"runs": False, "error": f"exit {rc}: {message[-500:]}"}


print(json.dumps([verdict(a) for a in json.load(sys.stdin)]))
