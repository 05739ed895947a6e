#!/usr/bin/env bash
# Idempotent install of the AWS CLI (awscli v1 from PyPI) in its own venv beside the other tools
# (EC2OPS_TOOLS_HOME, default ~/.cache/ec2ops-tools/awscli): the golden test runs every suggested command through it.
# Its own venv because awscli pins botocore exactly, which must not move the versions other tools need.
# Prints the venv's python.
set -euo pipefail
home=${EC2OPS_TOOLS_HOME:-$HOME/.cache/ec2ops-tools}
venv=$home/awscli
if ! "$venv/bin/python" -c 'import awscli.clidriver' 2>/dev/null; then
  echo "tools: installing the AWS CLI into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check awscli
fi
echo "$venv/bin/python"
