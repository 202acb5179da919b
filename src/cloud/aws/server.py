#!/usr/bin/env python3
"""The recommendation service as shipped to EC2 instances inside the user data.

Same contract as the Rust service of the local cloud (src/service):
GET /            one random recommendation from the table named by the table
                 parameter; when the table cannot be read: `static` answers the
                 fallback with 200, `none` drops the connection (the load
                 balancer answers 502).
GET /healthcheck `shallow`: always 200; `deep`: 200 only if the table can be
                 read; `tolerant`: 503 only when this instance itself may not
                 read it (access denied, failing credentials), else 200 (with
                 "degraded" when the table fails for everyone).
The fault parameter (JSON {"latency_ms": .., "error_rate": .., "throttle_rate":
.., "hang": [ids], "crash": {id: token}, "flap": {id: [healthy_ms, unhealthy_ms]},
"parameter_store_down": bool}) injects latency, errors and throttling
(ProvisionedThroughputExceededException) into every read of the table, makes
this instance's service hang (no answer until the hang is lifted), crash once
per token (systemd restarts it; the token is remembered in /run until the next
boot), its health check alternate between 200 and 503 in those spells, or
every read of the parameters count as failed. A server with no parameters
answers 503 {"error": "parameters unavailable"} to every request.

The four parameters are read at most once per RESILIENT_PARAMETER_MAX_AGE
seconds (default 1), one read at a time, and the last good values are kept
when a read fails: Parameter Store allows an account 40 GetParameter(s) calls
per second per region by default, and reading them on every request would get
the service throttled by its own load.

Settings come from the environment: RESILIENT_PREFIX (parameter names derive
from it), RESILIENT_BIND and RESILIENT_PORT (default 0.0.0.0:80),
RESILIENT_INSTANCE_ID / RESILIENT_AZ (default: read from IMDSv2),
RESILIENT_PARAMETER_MAX_AGE, RESILIENT_MAX_PARKED_THREADS (hung requests
waiting in a thread, default 64; more are held open without one),
RESILIENT_CREDENTIALS_GRACE (seconds without working credentials before the
process exits for systemd to restart it, default 60), and the usual AWS
variables (AWS_REGION, AWS_ENDPOINT_URL) for boto3.
"""
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.config
import botocore.exceptions

PREFIX = os.environ["RESILIENT_PREFIX"]
PARAMS = [
    PREFIX + "-table",
    PREFIX + "-failure-response",
    PREFIX + "-health-check",
    PREFIX + "-fault",
]
MAX_AGE = max(float(os.environ.get("RESILIENT_PARAMETER_MAX_AGE", "1.0")), 0.0)
# How long a request waits for a read of the parameters already in flight
# before it makes do with the last good values.
READ_WAIT = 5.0
# How often a hung request looks at the parameters again.
HANG_RECHECK = min(max(MAX_AGE, 0.05), 1.0)
MAX_PARKED_THREADS = max(int(os.environ.get("RESILIENT_MAX_PARKED_THREADS", "64")), 0)
# Connections held open without a thread once every parking thread is taken
# (the unit's LimitNOFILE leaves room for them).
MAX_HELD = 8192
CREDENTIALS_GRACE = float(os.environ.get("RESILIENT_CREDENTIALS_GRACE", "60"))
MAX_LATENCY_MS = 60000
CRASHED_DIR = os.environ.get("RESILIENT_RUN_DIR", "/run/resilient")
# The release this server is (its label goes into every answer) and how it
# is broken: none, deep_check, error_500, crash_at_boot or slow_start.
VERSION = os.environ.get("RESILIENT_VERSION", "v1")
BREAK = os.environ.get("RESILIENT_BREAK", "none")
# How much later a slow_start release starts serving (seconds).
SLOW_START_S = float(os.environ.get("RESILIENT_SLOW_START_S", "120"))
MEDIA_TYPES = ["Book", "Movie", "Song"]
FALLBACK = {
    "MediaType": "Book",
    "ItemId": 0,
    "Title": "Resilience Engineering in Practice (served from the static fallback)",
    "Creator": "resilient",
}
IMDS = "http://169.254.169.254/latest"
# Short timeouts, few retries: a request should not wait a minute for a
# dependency, and the parameters' reader holds up the requests behind it.
CONFIG = botocore.config.Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
)
# Errors that mean "these credentials do not work" (not "not allowed").
CREDENTIAL_ERRORS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
}


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


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


class Abort(Exception):
    """Answer nothing: the connection is dropped."""


class NoParameters(Abort):
    """No parameters were ever read: answer 503 saying so."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class InjectedError(Exception):
    """A failure of the table injected by the fault parameter, with the code
    the real one would carry."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code


THROTTLED = "ProvisionedThroughputExceededException"
# Errors that say this instance itself cannot use the table (a tolerant
# health check fails only on these).
OWN_ACCESS_ERRORS = {"AccessDeniedException", "NoCredentials"}


def error_code(e):
    """The AWS error code of a failed call (or of an injected failure)."""
    if isinstance(e, InjectedError):
        return e.code
    if isinstance(e, botocore.exceptions.ClientError):
        return e.response.get("Error", {}).get("Code", "Unknown")
    if credential_failure(e):
        return "NoCredentials"
    return type(e).__name__


def credential_failure(e):
    """Whether the error says the credentials themselves do not work."""
    if isinstance(
        e,
        (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.CredentialRetrievalError,
        ),
    ):
        return True
    if isinstance(e, botocore.exceptions.ClientError):
        return e.response.get("Error", {}).get("Code") in CREDENTIAL_ERRORS
    return False


class Clients:
    """The boto3 clients. Made at start, they keep whatever credentials the
    instance had then (none, while a new role propagates): when the
    credentials fail they are made again (at most once a second), and when
    no credentials have worked for CREDENTIALS_GRACE seconds the process
    exits, for systemd to start a new one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._failing_since = None
        self._built = 0.0
        self._build()

    def _build(self):
        session = boto3.session.Session()
        self.ssm = session.client("ssm", region_name=REGION, config=CONFIG)
        self.ddb = session.client("dynamodb", region_name=REGION, config=CONFIG)
        self._built = time.monotonic()

    def call(self, client, operation, **kwargs):
        """Calls `operation` of the `ssm` or `ddb` client."""
        try:
            out = getattr(getattr(self, client), operation)(**kwargs)
        except Exception as e:
            if credential_failure(e):
                self._credentials_failed(e)
            raise
        if self._failing_since is not None:
            with self._lock:
                self._failing_since = None
        return out

    def _credentials_failed(self, e):
        with self._lock:
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            elif now - self._failing_since >= CREDENTIALS_GRACE:
                log(
                    "no working credentials for %.0f s (%s): exiting for systemd to restart the service"
                    % (now - self._failing_since, e)
                )
                os._exit(3)
            if now - self._built >= 1.0:
                log("credentials failed (%s): making new clients" % e)
                try:
                    self._build()
                except Exception as b:  # noqa: BLE001 - try again at the next failure
                    log("cannot make new clients: %s" % b)


CLIENTS = Clients()


def read_parameters():
    found = CLIENTS.call("ssm", "get_parameters", Names=PARAMS)["Parameters"]
    values = {p["Name"]: p["Value"] for p in found}
    missing = [name for name in PARAMS if name not in values]
    if missing:
        raise LookupError("missing parameters: %s" % ", ".join(missing))
    values = [values[name] for name in PARAMS]
    if parameter_store_down(values[3]):
        # An injected outage: read (to learn when it ends), counted as failed.
        raise InjectedError("InternalServerError", "Parameter Store is unavailable (injected)")
    return values


class ParameterCache:
    """The parameters, read at most once per max age: one read at a time
    (requests that arrive meanwhile wait for it and share its outcome), and
    the last good values kept when a read fails (until the next read, a max
    age later). Only with no good values yet does a failed read fail the
    request."""

    def __init__(self, read, max_age):
        self._read = read
        self.max_age = max_age
        self._reading = threading.Lock()
        # (when the last read started, the last good values, its error)
        self._last = (None, None, None)

    def get(self):
        values = self._recent()
        if values is not None:
            return values
        if not self._reading.acquire(timeout=READ_WAIT):
            good = self._last[1]
            if good is not None:
                return good
            raise NoParameters("Timeout", "the read in flight takes too long")
        try:
            values = self._recent()
            if values is not None:
                return values
            started = time.monotonic()
            try:
                values = self._read()
            except Exception as e:  # noqa: BLE001 - any failed read
                good = self._last[1]
                self._last = (started, good, e)
                if good is None:
                    raise NoParameters(error_code(e), "cannot read parameters: %s" % e)
                log("cannot read parameters, keeping the last good values: %s" % e)
                return good
            self._last = (started, values, None)
            return values
        finally:
            self._reading.release()

    def _recent(self):
        """The values of a read that started less than the max age ago (or
        its error, raised); None when there is none."""
        started, good, error = self._last
        if started is None or time.monotonic() - started >= self.max_age:
            return None
        if good is not None:
            return good
        raise NoParameters(error_code(error), "cannot read parameters: %s" % error)


PARAMETERS = ParameterCache(read_parameters, MAX_AGE)


def fraction(x):
    """A fraction kept in 0..1 (NaN is 0)."""
    x = float(x)
    return min(max(x, 0.0), 1.0) if x == x else 0.0


def fault_of(value):
    """The injected dependency fault: (latency in s, error rate, throttle
    rate), kept in range; anything unreadable means no fault."""
    try:
        f = json.loads(value)
        latency = min(max(int(f.get("latency_ms", 0)), 0), MAX_LATENCY_MS) / 1000.0
        return latency, fraction(f.get("error_rate", 0.0)), fraction(f.get("throttle_rate", 0.0))
    except (ValueError, TypeError, AttributeError, OverflowError):
        return 0.0, 0.0, 0.0


def parameter_store_down(value):
    """Whether the fault parameter says Parameter Store is unavailable."""
    try:
        return json.loads(value).get("parameter_store_down") is True
    except (ValueError, TypeError, AttributeError):
        return False


def flapping_down(value):
    """Whether this instance's health check is in a failing spell of its
    flap ([healthy_ms, unhealthy_ms], cycles counted from the Unix epoch;
    one cloud second is the parameters' max age, as in the Rust service: a
    second on EC2)."""
    try:
        spells = json.loads(value).get("flap", {}).get(INSTANCE_ID)
        up, down = (int(x) for x in spells)
        if up < 0 or down <= 0:
            return False
        second = MAX_AGE if MAX_AGE > 0 else 1.0
        return time.time() % (second * (up + down) / 1000.0) >= second * up / 1000.0
    except (ValueError, TypeError, AttributeError, OverflowError):
        return False


def crash_if_asked(value):
    """Crashes this instance's service, once per token, as the fault
    parameter says."""
    try:
        crash = json.loads(value).get("crash", {}).get(INSTANCE_ID)
    except (ValueError, TypeError, AttributeError):
        return
    if isinstance(crash, str) and crash.isalnum():
        marker = os.path.join(CRASHED_DIR, "crashed-" + crash)
        if not os.path.exists(marker):
            os.makedirs(CRASHED_DIR, exist_ok=True)
            open(marker, "w").close()
            log("crashing as the fault parameter asks (token %s)" % crash)
            os._exit(1)


def hangs(value):
    """Whether the fault parameter says this instance's service hangs."""
    try:
        hang = json.loads(value).get("hang", [])
        return isinstance(hang, list) and INSTANCE_ID in hang
    except (ValueError, TypeError, AttributeError):
        return False


def peer_closed(sock):
    """Whether the client has closed the connection (or it broke)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


# Hung requests wait in a thread each, up to MAX_PARKED_THREADS; beyond, their
# connections are held open without a thread (and dropped once the hang is
# lifted or the client leaves).
PARKED = threading.BoundedSemaphore(MAX_PARKED_THREADS) if MAX_PARKED_THREADS else None
HELD = set()
HELD_LOCK = threading.Lock()


def hold(sock):
    """Keeps the connection open with no thread; False when too many are."""
    with HELD_LOCK:
        if len(HELD) >= MAX_HELD:
            return False
        HELD.add(sock)
        return True


def release_held():
    """Drops held connections once the hang is lifted, or their client left."""
    while True:
        time.sleep(HANG_RECHECK)
        with HELD_LOCK:
            held = list(HELD)
        if not held:
            continue
        try:
            lifted = not hangs(PARAMETERS.get()[3])
        except Abort:
            lifted = False
        for sock in held:
            if lifted or peer_closed(sock):
                with HELD_LOCK:
                    HELD.discard(sock)
                try:
                    sock.close()
                except OSError:
                    pass


def query(table, media_type, fault):
    latency, rate, throttle = fault
    if latency > 0:
        time.sleep(latency)
    if throttle > 0 and random.random() < throttle:
        raise InjectedError(
            THROTTLED,
            "The level of configured provisioned throughput for the table was exceeded (injected)",
        )
    if rate > 0 and random.random() < rate:
        raise InjectedError("InternalServerError", "injected dependency error")
    items = CLIENTS.call(
        "ddb",
        "query",
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
    body["Metadata"] = metadata()
    return 200, body


def metadata():
    return {"InstanceId": INSTANCE_ID, "AvailabilityZone": AZ, "Version": VERSION}


def health_check(table, kind, fault):
    kind = kind.strip().lower()
    if kind not in ("deep", "tolerant"):
        return 200, {"healthy": True, "check": "shallow"}
    try:
        if BREAK in ("deep_check", "error_500"):
            raise RuntimeError("release %s cannot read its dependency" % BREAK)
        query(table, MEDIA_TYPES[0], fault)
        return 200, {"healthy": True, "check": kind}
    except Exception as e:  # noqa: BLE001
        code = error_code(e)
        # A broken release is this instance's own fault: a tolerant check
        # fails too.
        broken = BREAK in ("deep_check", "error_500")
        if kind == "tolerant" and not broken and code not in OWN_ACCESS_ERRORS | CREDENTIAL_ERRORS:
            # Down for everyone: taking this instance out would not help.
            return 200, {"healthy": True, "check": kind, "degraded": True, "dependency": code}
        # The detail (it may name the account and role) goes to the journal,
        # not through the load balancer.
        log("%s health check failed: %s" % (kind, e))
        return 503, {"healthy": False, "check": kind, "error": "dependency unavailable"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        try:
            values = self.parameters_unless_hung()
            if values is None:
                self.close_connection = True
                return
            table, failure, health, faults = values
            fault = fault_of(faults)
            if path == "/" and BREAK == "error_500":
                status, body = 500, {"error": "internal server error", "Metadata": metadata()}
            elif path == "/":
                status, body = recommend(table, failure, fault)
            elif path == "/healthcheck":
                if flapping_down(faults):
                    kind = health.strip().lower()
                    status, body = 503, {"healthy": False, "check": kind, "error": "flapping (injected)"}
                else:
                    status, body = health_check(table, health, fault)
            else:
                status, body = 404, {"error": "not found", "path": path}
        except NoParameters as e:
            # A server that never read its parameters says so (to customers
            # and to the load balancer) instead of dropping connections.
            log("no parameters for %s: %s" % (path, e))
            status, body = 503, {"error": "parameters unavailable", "code": e.code}
            if path == "/healthcheck":
                body["healthy"] = False
        except Abort as e:
            log("aborting %s: %s" % (path, e))
            self.close_connection = True
            return
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def parameters_unless_hung(self):
        """The parameters, once this instance does not hang. While it hangs
        the request gets no answer: it looks at the parameters again every
        HANG_RECHECK seconds and goes on once the hang is lifted (or gives
        up when the client leaves). Past MAX_PARKED_THREADS waiting
        requests, the connection is held open without a thread (None)."""
        values = PARAMETERS.get()
        crash_if_asked(values[3])
        if not hangs(values[3]):
            return values
        if PARKED is None or not PARKED.acquire(blocking=False):
            hold(self.connection)
            return None
        try:
            while True:
                time.sleep(HANG_RECHECK)
                if peer_closed(self.connection):
                    return None
                values = PARAMETERS.get()
                crash_if_asked(values[3])
                if not hangs(values[3]):
                    return values
        finally:
            PARKED.release()

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that went away is no news: one line, not a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log("connection from %s: %s" % (client_address[0], error))
        else:
            super().handle_error(request, client_address)

    def shutdown_request(self, request):
        # A held connection stays open after its thread is done.
        with HELD_LOCK:
            if request in HELD:
                return
        super().shutdown_request(request)


def main():
    if BREAK == "crash_at_boot":
        # systemd restarts it, and it crashes again: nothing ever listens.
        print("release %s crashes at boot" % VERSION, flush=True)
        sys.exit(1)
    if BREAK == "slow_start":
        time.sleep(SLOW_START_S)
    bind = os.environ.get("RESILIENT_BIND", "0.0.0.0")
    port = int(os.environ.get("RESILIENT_PORT", "80"))
    server = Server((bind, port), Handler)
    threading.Thread(target=release_held, name="release-held", daemon=True).start()
    print("serving on %s:%d" % server.server_address[:2], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
