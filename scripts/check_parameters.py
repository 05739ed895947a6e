#!/usr/bin/env python3
"""What template.yaml's Rules cannot check in the parameters a deployment uses, checked before it.

CloudFormation Rules compare values only for equality and list membership, so the template refuses what no setting
allows (ReservedConcurrency below 12 with AlarmBuffer on) and this script makes the exact comparison (docs/delivery.md,
"An optional buffer"): with AlarmBuffer true and ReservedConcurrency set,

    ReservedConcurrency >= AlarmBufferConcurrency + the work queue's MaximumConcurrency (10)

or Lambda throttles the queues' batches, which then count towards their redrive limit. The values are the template's
defaults, then samconfig.toml's parameter_overrides (the section `sam deploy` reads: [<env>.deploy.parameters]), then
KEY=VALUE arguments, as `sam deploy --parameter-overrides` takes them. scripts/package.sh runs it on the first two.

    scripts/check_parameters.py                                    # defaults + samconfig.toml
    scripts/check_parameters.py AlarmBuffer=true ReservedConcurrency=20 AlarmBufferConcurrency=8
    scripts/check_parameters.py --samconfig none AlarmBuffer=true  # without samconfig.toml

Exit 0 when the parameters hold, 1 with one line on stderr per violation, 2 for a usage or reading error.
"""

import argparse
import shlex
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (`!Ref X`, `!If [...]`) as their plain value: only literals are read."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_TemplateLoader.add_multi_constructor("!", _any_tag)


def fail_usage(message):
    print(f"check_parameters: {message}", file=sys.stderr)
    sys.exit(2)


def overrides(tokens, origin):
    """KEY=VALUE (or ParameterKey=KEY,ParameterValue=VALUE) tokens as a dict."""
    out = {}
    for token in tokens:
        if token.startswith("ParameterKey="):
            key, sep, value = token[len("ParameterKey="):].partition(",ParameterValue=")
        else:
            key, sep, value = token.partition("=")
        if not sep or not key:
            fail_usage(f"{origin}: {token!r} is not KEY=VALUE")
        out[key] = value
    return out


def samconfig_overrides(path, env):
    if path is None or not path.exists():
        return {}
    try:
        config = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail_usage(f"{path}: {e}")
    value = config.get(env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
    tokens = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
    return overrides(tokens, f"{path} [{env}.deploy.parameters] parameter_overrides")


def check(template, values):
    """The violations, one sentence each (empty when the parameters hold), and what was compared."""
    buffer_on = values.get("AlarmBuffer", "") == "true"
    reserved = values.get("ReservedConcurrency", "").strip()
    if not buffer_on or reserved == "":
        return [], "AlarmBuffer off or ReservedConcurrency unreserved: nothing to compare"
    events = template["Resources"]["ResponderFunction"]["Properties"]["Events"]
    work_queue = int(events["WorkQueueMessages"]["Properties"]["ScalingConfig"]["MaximumConcurrency"])
    problems = []
    numbers = {}
    for name in ("ReservedConcurrency", "AlarmBufferConcurrency"):
        text = str(values.get(name, "")).strip()
        if not text.isdigit():
            problems.append(f"{name}={text!r} is not a whole number")
        else:
            numbers[name] = int(text)
    if problems:
        return problems, ""
    need = numbers["AlarmBufferConcurrency"] + work_queue
    if numbers["ReservedConcurrency"] < need:
        problems.append(
            f"ReservedConcurrency={numbers['ReservedConcurrency']} is below AlarmBufferConcurrency="
            f"{numbers['AlarmBufferConcurrency']} + the work queue's {work_queue} = {need}: Lambda would throttle "
            f"the queues' batches (raise ReservedConcurrency to {need} or more, lower AlarmBufferConcurrency, or "
            "leave ReservedConcurrency empty)"
        )
    return problems, (
        f"ReservedConcurrency {numbers['ReservedConcurrency']} covers AlarmBufferConcurrency "
        f"{numbers['AlarmBufferConcurrency']} + the work queue's {work_queue}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--samconfig", default=str(ROOT / "samconfig.toml"), help="path, or none")
    parser.add_argument("--config-env", default="default")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args()
    try:
        template = yaml.load(Path(args.template).read_text(), Loader=_TemplateLoader)
    except (OSError, yaml.YAMLError) as e:
        fail_usage(f"{args.template}: {e}")
    values = {
        name: "" if p.get("Default") is None else str(p["Default"])
        for name, p in template.get("Parameters", {}).items()
    }
    samconfig = None if args.samconfig == "none" else Path(args.samconfig)
    values.update(samconfig_overrides(samconfig, args.config_env))
    values.update(overrides(args.overrides, "arguments"))
    unknown = sorted(k for k in values if k not in template.get("Parameters", {}))
    if unknown:
        fail_usage(f"not parameters of {args.template}: {', '.join(unknown)}")
    problems, compared = check(template, values)
    for p in problems:
        print(f"check_parameters: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_parameters: ok ({compared})")


if __name__ == "__main__":
    main()
