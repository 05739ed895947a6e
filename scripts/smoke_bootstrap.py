"""Smoke test of a packaged Lambda `bootstrap` (scripts/package.sh): the binary itself, run as Lambda runs it,
against a stub of the Lambda Runtime API on loopback and the local emulator. Needs boto3 (the tools venv has it,
through aws-sam-cli) and the emulator's environment (scripts/emulator.sh env).

    python smoke_bootstrap.py PATH/TO/bootstrap

Checks, in one process (a warm container): the cold start ends in GET /next; a CPU-spike alarm is reported (response
"reported", the report arrives on the topic's SQS subscription); an S3 event is ignored; a malformed alarm is an
invocation error of type NonRetryable.MalformedEvent; a forced panic (test hook EC2OPS_TEST_PANIC_TOKEN) is an
invocation error and the same process serves the next event. Then, in a second process, a Runtime API whose
/next fails: the process exits with an error, not by abort. Exits 1 if any check fails.
"""

import datetime
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

REGION = "ap-northeast-2"
ROOT = Path(__file__).resolve().parent.parent
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:000000000000:function:ec2ops-responder"


class Stub:
    """The Runtime API: hands out queued events on GET …/invocation/next, records what the function posts back."""

    def __init__(self, events, next_status=200):
        self.events = list(events)
        self.next_status = next_status
        self.posted = []
        self.next_calls = []
        self.init_error = None
        self.lock = threading.Condition()
        self.closing = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                with stub.lock:
                    stub.next_calls.append(time.monotonic())
                    n = len(stub.next_calls)
                    event = stub.events.pop(0) if stub.events else None
                if stub.next_status != 200:
                    return self.reply(stub.next_status, b'{"errorMessage":"stub: no invocation"}')
                if event is None:
                    # No more events: hold the long poll, as Lambda does between invocations.
                    stub.closing.wait()
                    return
                body = json.dumps(event).encode()
                deadline = int(time.time() * 1000) + 60_000
                self.reply(
                    200,
                    body,
                    [
                        ("Content-Type", "application/json"),
                        ("Lambda-Runtime-Aws-Request-Id", f"req-{n}"),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                        ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
                    ],
                )

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                m = re.search(r"/runtime/invocation/([^/]+)/(response|error)$", self.path)
                with stub.lock:
                    if m:
                        stub.posted.append({"request": m.group(1), "kind": m.group(2), "body": body})
                    elif self.path.endswith("/runtime/init/error"):
                        stub.init_error = body
                    stub.lock.notify_all()
                self.reply(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n, limit):
        end = time.monotonic() + limit
        with self.lock:
            while len(self.posted) < n and time.monotonic() < end:
                self.lock.wait(max(0.0, min(0.5, end - time.monotonic())))
            return list(self.posted)

    def close(self):
        self.closing.set()
        self.server.shutdown()


def function_env(stub, extra):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": stub.addr,
        "AWS_LAMBDA_FUNCTION_NAME": "ec2ops-responder",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/ec2ops-responder",
        "AWS_LAMBDA_LOG_STREAM_NAME": "smoke",
        "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------------------------
# The emulator: the seed's incident (tests/src/lib.rs, seed_cpu_spike) and a topic with an SQS subscription.


def client(service):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def seed():
    """A t3.small whose CPU idles near 0.27 % and jumps to 39.58 % one minute after 3.32 MB arrive; returns
    (instance id, transition time)."""
    ec2, cw = client("ec2"), client("cloudwatch")
    suffix = uuid.uuid4().hex[:8]
    sg = ec2.create_security_group(GroupName=f"smoke-sg-{suffix}", Description="ec2ops smoke test")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    images = ec2.describe_images(Owners=["amazon"]).get("Images", [])
    image = images[0]["ImageId"] if images else "ami-df5de72bdb3b"
    tags = [{"Key": "Name", "Value": "VPC02-Private-B"}, {"Key": "Project", "Value": "ec2ops-smoke"}]
    out = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.small",
        MinCount=1,
        MaxCount=1,
        SecurityGroupIds=[sg],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )
    instance = out["Instances"][0]["InstanceId"]
    minute = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    at = minute + datetime.timedelta(milliseconds=28_989)
    cpu = [0.25 + 0.01 * (i % 4) for i in range(25)] + [0.28, 0.26, 0.24, 1.75, 39.58]
    net = [150_000.0 + 4_000.0 * (i % 5) for i in range(28)] + [3_320_000.0, 2_950_000.0]
    series = {
        "CPUUtilization": cpu,
        "NetworkIn": net,
        "NetworkOut": [98_000.0] * 30,
        "CPUCreditBalance": [144.0] * 30,
        "StatusCheckFailed_System": [0.0] * 30,
        "StatusCheckFailed_Instance": [0.0] * 30,
    }
    for metric, values in series.items():
        n = len(values)
        data = [
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "InstanceId", "Value": instance}],
                "Timestamp": minute - datetime.timedelta(minutes=n - i),
                "Value": v,
            }
            for i, v in enumerate(values)
        ]
        for k in range(0, n, 20):
            cw.put_metric_data(Namespace="AWS/EC2", MetricData=data[k : k + 20])
    cw.put_metric_alarm(
        AlarmName="EC2-HighCPU-VPC02-Private-B",
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": instance}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=25.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    return instance, at


def topic_with_queue():
    sns, sqs = client("sns"), client("sqs")
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def notifications(queue, wait):
    sqs = client("sqs")
    end = time.monotonic() + wait
    out = []
    while time.monotonic() < end:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in got:
            body = json.loads(m.get("Body") or "{}")
            out.append((body.get("Subject", ""), body.get("Message", "")))
        if out and not got:
            break
    return out


STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")


def event_for(file, instance, at):
    """An event file of events/, moved to `instance` and shifted so that its transition happens at `at`."""
    text = (ROOT / "events" / file).read_text()
    value = json.loads(text)
    parse = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z")
    offset = at - parse(value["detail"]["state"]["timestamp"])
    old = re.search(r"i-[0-9a-f]{8,17}", text)
    if old:
        text = text.replace(old.group(0), instance)
    text = STAMP.sub(lambda m: (parse(m.group(0)) + offset).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000", text)
    value = json.loads(text)
    value["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


# ---------------------------------------------------------------------------------------------------------------


class Checks:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what, detail=""):
        print(f"  {'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.failed += 1
        return ok


def vm_hwm_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def warm_process(bootstrap, c):
    instance, at = seed()
    topic, queue = topic_with_queue()
    token = secrets.token_hex(16)
    events = [
        event_for("cpu-spike.json", instance, at),
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
        {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": {"alarmName": "x"}},
        {"ec2ops-test-panic": token},
        {"source": "aws.s3", "detail-type": "Object Deleted", "detail": {}},
    ]
    stub = Stub(events)
    env = function_env(stub, {"EC2OPS_TOPIC_ARN": topic, "EC2OPS_LANGUAGE": "en", "EC2OPS_TEST_PANIC_TOKEN": token})
    log = open(os.environ.get("SMOKE_LOG", os.devnull), "wb")
    started = time.monotonic()
    proc = subprocess.Popen([str(bootstrap)], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        while not stub.next_calls and proc.poll() is None and time.monotonic() - started < 30:
            time.sleep(0.0005)
        cold = (stub.next_calls[0] - started) * 1e3 if stub.next_calls else None
        c.check(cold is not None, "cold start: exec to first GET /next", f"{cold:.1f} ms" if cold else "never")
        stub.wait_for(1, 60)
        hwm = vm_hwm_kib(proc.pid)
        c.check(
            hwm is not None,
            "peak RSS (VmHWM) after cold start and the real invocation",
            f"{hwm / 1024:.1f} MiB" if hwm else "unreadable",
        )
        posted = stub.wait_for(len(events), 90)
        by_request = {p["request"]: p for p in posted}
        p = [by_request.get(f"req-{i + 1}") for i in range(len(events))]

        real = p[0] or {}
        body = real.get("body") if isinstance(real.get("body"), dict) else {}
        c.check(
            real.get("kind") == "response" and body.get("status") == "reported",
            "CPU-spike alarm: response 'reported'",
            json.dumps(body)[:200],
        )
        got = notifications(queue, 15)
        subjects = [s for s, _ in got]
        c.check(
            any(s.startswith("[P2] CPU spike") for s in subjects),
            "its report arrived on the topic's SQS subscription",
            "; ".join(subjects) or "nothing",
        )

        ignored = p[1] or {}
        c.check(
            ignored.get("kind") == "response" and (ignored.get("body") or {}).get("status") == "ignored",
            "S3 event: response 'ignored'",
            json.dumps(ignored.get("body")),
        )

        bad = p[2] or {}
        c.check(
            bad.get("kind") == "error" and (bad.get("body") or {}).get("errorType") == "NonRetryable.MalformedEvent",
            "malformed alarm: invocation error NonRetryable.MalformedEvent",
            json.dumps(bad.get("body"))[:200],
        )

        panic = p[3] or {}
        message = str((panic.get("body") or {}).get("errorMessage", ""))
        c.check(
            panic.get("kind") == "error" and "forced panic" in message,
            "forced panic: invocation error",
            json.dumps(panic.get("body"))[:200],
        )

        after = p[4] or {}
        c.check(
            after.get("kind") == "response" and (after.get("body") or {}).get("status") == "ignored",
            "after the panic the same process serves the next event",
            json.dumps(after.get("body")),
        )
        c.check(proc.poll() is None, "the process is still running", f"exit status {proc.returncode}")
        c.check(len(stub.next_calls) == len(events) + 1, "it waits on the next long poll", f"{len(stub.next_calls)} GET /next")
    finally:
        proc.kill()
        proc.wait()
        stub.close()


def failing_runtime_api(bootstrap, c):
    stub = Stub([], next_status=500)
    env = function_env(stub, {"EC2OPS_TOPIC_ARN": f"arn:aws:sns:{REGION}:000000000000:smoke"})
    proc = subprocess.Popen(
        [str(bootstrap)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _, err = proc.communicate(timeout=30)
        status = proc.returncode
        c.check(
            status > 0,
            "a Runtime API whose /next fails: the process exits with an error, not by a signal (abort)",
            f"exit status {status}; {err.decode('utf-8', 'replace').strip().splitlines()[-1:] or ''}",
        )
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        c.check(False, "a Runtime API whose /next fails: the process exits", "still running after 30 s")
    finally:
        stub.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    bootstrap = Path(sys.argv[1]).resolve()
    c = Checks()
    warm_process(bootstrap, c)
    failing_runtime_api(bootstrap, c)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
