#!/usr/bin/env python3
"""The recommendation service as shipped to EC2 instances inside the user data.

Same contract as the Rust service of the local cloud (src/service):
GET /            one random recommendation from the table named by the table
                 parameter; when the table cannot be read: `static` answers the
                 fallback with 200, `none` drops the connection (the load
                 balancer answers 502).
GET /healthcheck `shallow`: always 200; `deep`: 200 only if the table can be read.
The fault parameter (JSON {"latency_ms": .., "error_rate": .., "hang": [ids],
"crash": {id: token}}) injects latency and errors into every read of the table,
makes this instance's service hang (never answer), or crash once per token
(systemd restarts it; the token is remembered in /run until the next boot).

Settings come from the environment: RESILIENT_PREFIX (parameter names derive
from it), RESILIENT_BIND and RESILIENT_PORT (default 0.0.0.0:80),
RESILIENT_INSTANCE_ID / RESILIENT_AZ (default: read from IMDSv2), and the usual
AWS variables (AWS_REGION, AWS_ENDPOINT_URL) for boto3.
"""
import json
import os
import random
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

PREFIX = os.environ["RESILIENT_PREFIX"]
PARAMS = [
    PREFIX + "-table",
    PREFIX + "-failure-response",
    PREFIX + "-health-check",
    PREFIX + "-fault",
]
MAX_LATENCY_MS = 60000
CRASHED_DIR = os.environ.get("RESILIENT_RUN_DIR", "/run/resilient")
MEDIA_TYPES = ["Book", "Movie", "Song"]
FALLBACK = {
    "MediaType": "Book",
    "ItemId": 0,
    "Title": "Resilience Engineering in Practice (served from the static fallback)",
    "Creator": "resilient",
}
IMDS = "http://169.254.169.254/latest"


def imds(path):
    """Reads instance metadata with an IMDSv2 session token."""
    token_req = urllib.request.Request(
        IMDS + "/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
    )
    token = urllib.request.urlopen(token_req, timeout=2).read().decode()
    req = urllib.request.Request(
        IMDS + "/meta-data/" + path, headers={"X-aws-ec2-metadata-token": token}
    )
    return urllib.request.urlopen(req, timeout=2).read().decode()


INSTANCE_ID = os.environ.get("RESILIENT_INSTANCE_ID") or imds("instance-id")
AZ = os.environ.get("RESILIENT_AZ") or imds("placement/availability-zone")
REGION = os.environ.get("AWS_REGION") or AZ[:-1]
SSM = boto3.client("ssm", region_name=REGION)
DDB = boto3.client("dynamodb", region_name=REGION)


class Abort(Exception):
    """Answer nothing: the connection is dropped."""


def parameters():
    try:
        found = SSM.get_parameters(Names=PARAMS)["Parameters"]
    except Exception as e:  # noqa: BLE001 - any failure means no answer
        raise Abort("cannot read parameters: %s" % e)
    values = {p["Name"]: p["Value"] for p in found}
    if any(name not in values for name in PARAMS):
        raise Abort("missing parameters")
    return [values[name] for name in PARAMS]


def fault_of(value):
    """The injected dependency fault: (latency in s, error rate), kept in range;
    anything unreadable means no fault."""
    try:
        f = json.loads(value)
        latency = min(max(int(f.get("latency_ms", 0)), 0), MAX_LATENCY_MS) / 1000.0
        rate = float(f.get("error_rate", 0.0))
        rate = min(max(rate, 0.0), 1.0) if rate == rate else 0.0
        return latency, rate
    except (ValueError, TypeError, AttributeError, OverflowError):
        return 0.0, 0.0


def instance_faults(value):
    """Crashes (once per token) or hangs this instance's service as the fault
    parameter says."""
    try:
        f = json.loads(value)
        crash = f.get("crash", {}).get(INSTANCE_ID)
        hang = INSTANCE_ID in f.get("hang", [])
    except (ValueError, TypeError, AttributeError):
        return
    if isinstance(crash, str) and crash.isalnum():
        marker = os.path.join(CRASHED_DIR, "crashed-" + crash)
        if not os.path.exists(marker):
            os.makedirs(CRASHED_DIR, exist_ok=True)
            open(marker, "w").close()
            sys.stderr.write("crashing as the fault parameter asks (token %s)\n" % crash)
            sys.stderr.flush()
            os._exit(1)
    while hang:
        time.sleep(3600)


def query(table, media_type, fault):
    latency, rate = fault
    if latency > 0:
        time.sleep(latency)
    if rate > 0 and random.random() < rate:
        raise RuntimeError("injected dependency error")
    items = DDB.query(
        TableName=table,
        KeyConditionExpression="MediaType = :m",
        ExpressionAttributeValues={":m": {"S": media_type}},
    )["Items"]
    return [
        {
            "MediaType": i["MediaType"]["S"],
            "ItemId": int(i["ItemId"]["N"]),
            "Title": i["Title"]["S"],
            "Creator": i["Creator"]["S"],
        }
        for i in items
    ]


def recommend(table, failure, fault):
    media_type = random.choice(MEDIA_TYPES)
    try:
        items = query(table, media_type, fault)
        if not items:
            raise LookupError("table %s has no %s items" % (table, media_type))
        body, fallback = dict(random.choice(items)), False
    except Exception as e:  # noqa: BLE001 - any failed read of the dependency
        if failure.strip().lower() != "static":
            raise Abort("cannot read table %s: %s" % (table, e))
        body, fallback = dict(FALLBACK), True
    body["Fallback"] = fallback
    body["Metadata"] = {"InstanceId": INSTANCE_ID, "AvailabilityZone": AZ}
    return 200, body


def health_check(table, kind, fault):
    if kind.strip().lower() != "deep":
        return 200, {"healthy": True, "check": "shallow"}
    try:
        query(table, MEDIA_TYPES[0], fault)
        return 200, {"healthy": True, "check": "deep"}
    except Exception as e:  # noqa: BLE001
        # The detail (it may name the account and role) goes to the journal,
        # not through the load balancer.
        sys.stderr.write("deep health check failed: %s\n" % e)
        return 503, {"healthy": False, "check": "deep", "error": "dependency unavailable"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        try:
            table, failure, health, fault = parameters()
            instance_faults(fault)
            fault = fault_of(fault)
            if path == "/":
                status, body = recommend(table, failure, fault)
            elif path == "/healthcheck":
                status, body = health_check(table, health, fault)
            else:
                status, body = 404, {"error": "not found", "path": path}
        except Abort as e:
            sys.stderr.write("aborting %s: %s\n" % (path, e))
            self.close_connection = True
            return
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


def main():
    bind = os.environ.get("RESILIENT_BIND", "0.0.0.0")
    port = int(os.environ.get("RESILIENT_PORT", "80"))
    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    print("serving on %s:%d" % server.server_address[:2], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
