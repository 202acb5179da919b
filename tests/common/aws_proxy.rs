//! A proxy between `resilient` (or boto3) and moto that brings back what moto
//! leaves out of AWS: throttling, eventual consistency, resources that linger
//! in transition, and the odd internal error, each answered with AWS's own
//! error shape and, where AWS documents one, AWS's own number.
//!
//! | behaviour | numbers | where AWS says so |
//! |---|---|---|
//! | ELBv2 `Describe*` throttled (awsQuery `Throttling`, "Rate exceeded", 400) | one account-level bucket per region: 40 tokens, 10/s | [ELB API throttling](https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html) |
//! | EC2 `Describe*` throttled (`RequestLimitExceeded`, 503) | one bucket per action: 100 tokens, 20/s | [EC2 API throttling](https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html) |
//! | SSM `GetParameter`/`GetParameters` throttled (`ThrottlingException`, "Rate exceeded", 400) | 40 TPS shared (default throughput): 40 tokens, 40/s | [Systems Manager quotas](https://docs.aws.amazon.com/general/latest/gr/ssm.html), [Parameter Store throughput](https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html) |
//! | EC2 Auto Scaling calls throttled (awsQuery `Throttling`, "Rate exceeded", 400) | one bucket shared by every Auto Scaling action in the account and region; AWS publishes no size, so 20 tokens, 8/s (ours) | [Auto Scaling API throttling](https://repost.aws/knowledge-center/autoscaling-api-calls-throttled) |
//! | Auto Scaling: a new instance refresh is not listed by the next `DescribeInstanceRefreshes` calls (the scripted stand-in, below) | 2 calls | eventual consistency, as for EC2's resources |
//! | IAM: a new role, policy or instance profile is `NoSuchEntity` (404) to the next `AttachRolePolicy`/`AddRoleToInstanceProfile` naming it | 1–2 calls per entity | [IAM eventual consistency](https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency) |
//! | Auto Scaling: the first `CreateAutoScalingGroup` after a new instance profile is a `ValidationError` "Invalid IAM Instance Profile name" | 1 call | (same; the message is Auto Scaling's) |
//! | EC2: a new instance id is `InvalidInstanceID.NotFound` to the next `DescribeInstances` naming it; a new group id is `InvalidGroup.NotFound` to the next `AuthorizeSecurityGroupIngress` | 1 call per id | [EC2 eventual consistency](https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html) |
//! | after `DeleteLoadBalancer`, its network interfaces hold its security groups: `DependencyViolation` (400) | 2–3 `DeleteSecurityGroup` calls per group | [EC2 error codes](https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html) (`DependencyViolation`) |
//! | DynamoDB: a new table is `CREATING` (DescribeTable), `ResourceNotFoundException` (ListTagsOfResource), `ResourceInUseException` (DeleteTable); a deleted one is `DELETING` (DescribeTable, DeleteTable) and `ResourceInUseException` (CreateTable) | 1–2 calls naming the table | [CreateTable](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html), [DeleteTable](https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html) |
//! | a 500 on reads (`Describe*`, `Get*`, `List*`): EC2 `InternalError`, awsQuery `InternalFailure`, JSON `InternalServerError`, answered without forwarding | 2% | [EC2 server error codes](https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), [common errors](https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html) (`InternalFailure`, 500) |
//!
//! Beside these behaviours, and whatever the configuration, the proxy
//! answers the four instance refresh actions of Auto Scaling itself
//! (`StartInstanceRefresh`, `DescribeInstanceRefreshes`,
//! `CancelInstanceRefresh`, `RollbackInstanceRefresh`): moto 5 has none. Those
//! answers are scripted (see `refresh_standin`), not moto's and not AWS's.
//!
//! The service comes from the SigV4 credential scope of the `Authorization`
//! header (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`), the action from
//! the form body's `Action=` (query protocols) or `X-Amz-Target` (JSON
//! protocols), so the Rust SDK and boto3 are treated alike.
//!
//! Everything but the time-based buckets is deterministic: how many calls a
//! resource stays inconsistent for derives from the seed and the resource's
//! name (not from the order concurrent calls arrive in), and whether the Nth
//! call of an action gets a 500 from the seed, the action and N.
//!
//! `Moto::start()` puts one in front of every moto; `RESILIENT_AWS_PROXY=off`
//! takes it away (moto direct), `RESILIENT_AWS_PROXY=throttling,tables` keeps
//! only the behaviours named (see [`Config::from_env`]), and
//! `RESILIENT_AWS_PROXY_SEED` changes the seed.
//!
//! Each proxy, when dropped, appends one JSON line with its counts to
//! `$CARGO_TARGET_TMPDIR/aws-proxy-counts.jsonl` (`target/tmp/` under the
//! target directory) and prints a one-line summary to stderr. To sum them:
//!
//! ```sh
//! python3 -c 'import json,sys,collections as c; t=c.Counter(); [t.update(json.loads(l)["counts"]) for l in open(sys.argv[1])]; print(dict(t))' "$CARGO_TARGET_DIR/tmp/aws-proxy-counts.jsonl"
//! ```
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A token bucket's size and refill rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Tokens when full: the burst allowed at once.
    pub capacity: f64,
    /// Tokens added back per second, up to the capacity.
    pub refill_per_sec: f64,
}

/// Elastic Load Balancing (API version 2) `Describe*` actions: "the token
/// bucket size for non-mutating API actions is 40 tokens … refill rate of 10
/// tokens per second", one bucket for the account in the region ("Request
/// throttling for the Elastic Load Balancing API",
/// <https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html>).
/// Exceeding it: "Rate exceeded", HTTP 400. The guide names the code
/// `ThrottlingException`; on the awsQuery wire ELBv2 sends `Throttling`, which
/// is what the proxy answers (the SDKs treat both as throttling).
pub const ELB_DESCRIBE: Limits = Limits {
    capacity: 40.0,
    refill_per_sec: 10.0,
};

/// Amazon EC2 non-mutating (`Describe*`) actions: "the token bucket size for
/// DescribeHosts, a non-mutating API action, is 100 tokens … refill rate of 20
/// tokens per second", and "each API is evaluated individually" ("Request
/// throttling for the Amazon EC2 API",
/// <https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html>).
/// Exceeding it: `RequestLimitExceeded` (HTTP 503).
pub const EC2_NON_MUTATING: Limits = Limits {
    capacity: 100.0,
    refill_per_sec: 20.0,
};

/// Parameter Store `GetParameter`/`GetParameters`: "Max throughput
/// (transactions per second): Default throughput: 40 (shared by the following
/// API actions: GetParameter, GetParameters, GetParametersByPath)" (AWS Systems
/// Manager endpoints and quotas, <https://docs.aws.amazon.com/general/latest/gr/ssm.html>;
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-throughput.html>).
/// A rate of 40 per second, so a bucket of 40 refilled at 40/s. Exceeding it:
/// `ThrottlingException`, "Rate exceeded".
pub const SSM_GET_PARAMETERS: Limits = Limits {
    capacity: 40.0,
    refill_per_sec: 40.0,
};

/// Amazon EC2 Auto Scaling: "all Amazon EC2 Auto Scaling API calls have a
/// single, shared API limit" per account and Region, exceeded with "Rate
/// exceeded" (<https://repost.aws/knowledge-center/autoscaling-api-calls-throttled>).
/// AWS publishes no size or rate for it: these are ours, small enough that
/// a deploy's or a roll-out's bursts meet them.
pub const AUTOSCALING_SHARED: Limits = Limits {
    capacity: 20.0,
    refill_per_sec: 8.0,
};

/// How many `AttachRolePolicy`/`AddRoleToInstanceProfile` calls naming a new
/// role, policy or instance profile answer `NoSuchEntity` (IAM is eventually
/// consistent: "changes that I make are not always immediately visible",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
pub const IAM_NOT_YET: (u32, u32) = (1, 2);

/// How many `DeleteSecurityGroup` calls per group answer `DependencyViolation`
/// after its load balancer was deleted (its network interfaces go a while later).
pub const ENI_LINGER: (u32, u32) = (2, 3);

/// How many calls naming a table see it `CREATING` after CreateTable ("CreateTable
/// is an asynchronous operation … DynamoDB immediately returns a response with a
/// TableStatus of CREATING"; DeleteTable of a CREATING table is
/// `ResourceInUseException`) or `DELETING` after DeleteTable ("the specified table
/// is in the DELETING state until DynamoDB completes the deletion").
pub const TABLE_TRANSITION: (u32, u32) = (1, 2);

/// The share of read calls (`Describe*`, `Get*`, `List*`) answered with a 500
/// (EC2 `InternalError`, awsQuery `InternalFailure`, JSON `InternalServerError`):
/// "server errors … are usually caused by an AWS server-side issue"
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>).
pub const INTERNAL_ERROR_RATE: f64 = 0.02;

/// The seed when `RESILIENT_AWS_PROXY_SEED` does not set one.
pub const DEFAULT_SEED: u64 = 0x0a75_5eed;

/// What the proxy does.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seeds every count and every injected error.
    pub seed: u64,
    /// Token buckets on ELBv2 `Describe*`, EC2 `Describe*`, SSM `GetParameter(s)`.
    pub throttling: bool,
    /// New IAM entities not found yet; a new instance profile invalid for Auto Scaling.
    pub iam_consistency: bool,
    /// New instance and security group ids not found yet.
    pub ec2_consistency: bool,
    /// A deleted load balancer's security groups still in use.
    pub lingering_interfaces: bool,
    /// DynamoDB tables `CREATING` and `DELETING`.
    pub table_transitions: bool,
    /// Share of read calls answered with a 500.
    pub internal_error_rate: f64,
}

impl Config {
    /// Every behaviour, with AWS's numbers; the seed from
    /// `RESILIENT_AWS_PROXY_SEED` or [`DEFAULT_SEED`].
    pub fn aws() -> Config {
        Config {
            seed: std::env::var("RESILIENT_AWS_PROXY_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_SEED),
            throttling: true,
            iam_consistency: true,
            ec2_consistency: true,
            lingering_interfaces: true,
            table_transitions: true,
            internal_error_rate: INTERNAL_ERROR_RATE,
        }
    }

    /// No behaviour: every call goes to moto as it came (still counted, still
    /// hooked).
    pub fn transparent() -> Config {
        Config {
            seed: DEFAULT_SEED,
            throttling: false,
            iam_consistency: false,
            ec2_consistency: false,
            lingering_interfaces: false,
            table_transitions: false,
            internal_error_rate: 0.0,
        }
    }
}

/// Whether the proxy is on: unless `RESILIENT_AWS_PROXY` is `off` (or `0`,
/// `false`, `no`).
pub fn enabled() -> bool {
    !matches!(
        std::env::var("RESILIENT_AWS_PROXY")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str(),
        "off" | "0" | "false" | "no"
    )
}

/// The behaviours' names in `RESILIENT_AWS_PROXY`.
pub const BEHAVIOURS: [&str; 6] = ["throttling", "iam", "ec2", "interfaces", "tables", "errors"];

impl Config {
    /// The configuration `RESILIENT_AWS_PROXY` asks for: `None` when `off`;
    /// every behaviour when unset, `on` or `all`; else only the behaviours a
    /// comma-separated list of [`BEHAVIOURS`] names (e.g. `throttling,tables`),
    /// to see what each one does to a test.
    pub fn from_env() -> Option<Config> {
        if !enabled() {
            return None;
        }
        let wanted = std::env::var("RESILIENT_AWS_PROXY")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(wanted.as_str(), "" | "on" | "all" | "1" | "true" | "yes") {
            return Some(Config::aws());
        }
        let mut c = Config::transparent();
        c.seed = Config::aws().seed;
        for name in wanted.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "throttling" => c.throttling = true,
                "iam" => c.iam_consistency = true,
                "ec2" => c.ec2_consistency = true,
                "interfaces" => c.lingering_interfaces = true,
                "tables" => c.table_transitions = true,
                "errors" => c.internal_error_rate = INTERNAL_ERROR_RATE,
                other => panic!(
                    "RESILIENT_AWS_PROXY: unknown behaviour {other:?}; expected off, on, or some of {BEHAVIOURS:?}"
                ),
            }
        }
        Some(c)
    }
}

// ---------------------------------------------------------------------------
// Parsing requests

/// Region and service of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, …`.
pub fn credential_scope(authorization: &str) -> Option<(String, String)> {
    let start = authorization.find("Credential=")? + "Credential=".len();
    let credential = authorization[start..]
        .split([',', ' '])
        .next()
        .unwrap_or_default();
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() < 5 || parts[parts.len() - 1] != "aws4_request" {
        return None;
    }
    Some((
        parts[parts.len() - 3].to_string(),
        parts[parts.len() - 2].to_string(),
    ))
}

/// An `application/x-www-form-urlencoded` body (or query string) as pairs.
pub fn form(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// One AWS call as the proxy understands it.
#[derive(Clone, Debug, Default)]
pub struct Call {
    /// Signing name: `ec2`, `autoscaling`, `elasticloadbalancing`, `iam`,
    /// `sts`, `dynamodb`, `ssm` (empty when unsigned).
    pub service: String,
    /// Region of the signature.
    pub region: String,
    /// Action: `DescribeInstances`, `GetParameters`, ….
    pub action: String,
    /// Query-protocol parameters (form body and query string).
    pub params: Vec<(String, String)>,
    /// JSON-protocol body.
    pub json: Option<Value>,
}

impl Call {
    /// Reads a request's headers, query string and body.
    pub fn parse(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Call {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (region, service) = header("authorization")
            .and_then(credential_scope)
            .unwrap_or_default();
        let mut call = Call {
            service,
            region,
            ..Call::default()
        };
        if let Some(target) = header("x-amz-target") {
            call.action = target.rsplit('.').next().unwrap_or(target).to_string();
            call.json = serde_json::from_slice(body).ok();
        } else {
            if let Some(q) = query {
                call.params = form(q);
            }
            let is_form = header("content-type")
                .is_none_or(|t| t.starts_with("application/x-www-form-urlencoded"));
            if is_form {
                call.params
                    .extend(form(std::str::from_utf8(body).unwrap_or_default()));
            }
            call.action = call.param("Action").unwrap_or_default().to_string();
        }
        call
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The values of a list parameter: `InstanceId.1`, `InstanceId.2`, ….
    pub fn list(&self, name: &str) -> Vec<&str> {
        let prefix = format!("{name}.");
        self.params
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(&prefix)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A string member of the JSON body.
    pub fn json_str(&self, key: &str) -> Option<&str> {
        self.json.as_ref()?.get(key)?.as_str()
    }

    /// A read call: `Describe*`, `Get*`, `List*`.
    pub fn is_read(&self) -> bool {
        ["Describe", "Get", "List"]
            .iter()
            .any(|p| self.action.starts_with(p))
    }
}

// ---------------------------------------------------------------------------
// Token buckets

/// A token bucket refilled continuously with time.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    limits: Limits,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(limits: Limits, now: Instant) -> TokenBucket {
        TokenBucket {
            limits,
            tokens: limits.capacity,
            at: now,
        }
    }

    /// Takes one token at `now`; false (throttled, nothing taken) when empty.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.limits.refill_per_sec).min(self.limits.capacity);
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Tokens left (as of the last call).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

/// The bucket a call draws from, if it is throttled: its key and limits.
pub fn bucket_of(call: &Call) -> Option<(String, Limits)> {
    let a = call.action.as_str();
    match call.service.as_str() {
        "elasticloadbalancing" if a.starts_with("Describe") => {
            Some((format!("elb/{}", call.region), ELB_DESCRIBE))
        }
        "ec2" if a.starts_with("Describe") => {
            Some((format!("ec2/{}/{a}", call.region), EC2_NON_MUTATING))
        }
        "ssm" if a == "GetParameter" || a == "GetParameters" => {
            Some((format!("ssm/{}", call.region), SSM_GET_PARAMETERS))
        }
        "autoscaling" => Some((format!("autoscaling/{}", call.region), AUTOSCALING_SHARED)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Seeded, order-independent draws

/// FNV-1a: a stable hash (the standard library's is not promised stable).
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A count in `lo..=hi` for this resource: the same for the same seed and
/// name whatever order calls arrive in.
pub fn budget(seed: u64, what: &str, name: &str, (lo, hi): (u32, u32)) -> u32 {
    fastrand::Rng::with_seed(seed ^ fnv1a(&format!("{what}/{name}"))).u32(lo..=hi)
}

/// Whether the `n`th call (1-based) of this service's action gets a 500.
pub fn injects_error(seed: u64, service: &str, action: &str, n: u64, rate: f64) -> bool {
    rate > 0.0
        && fastrand::Rng::with_seed(
            seed ^ fnv1a(&format!("500/{service}/{action}"))
                ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )
        .f64()
            < rate
}

/// CRC-32 (IEEE), as DynamoDB's `x-amz-crc32` header carries it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ---------------------------------------------------------------------------
// AWS's error shapes

/// A response being built or passed on.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Answer {
    fn new(status: u16, content_type: &str, body: String) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from(body),
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_default()
    }

    /// Replaces a JSON body (DynamoDB's checksum follows it).
    fn set_json(&mut self, v: &Value) {
        let body = serde_json::to_vec(v).unwrap();
        if self.headers.contains_key("x-amz-crc32") {
            self.headers.insert(
                HeaderName::from_static("x-amz-crc32"),
                HeaderValue::from_str(&crc32(&body).to_string()).unwrap(),
            );
        }
        self.body = Bytes::from(body);
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// EC2's error document:
/// `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>`
/// ("Error codes for the Amazon EC2 API", example error response).
pub fn ec2_error(status: u16, code: &str, message: &str, request_id: &str) -> Answer {
    Answer::new(
        status,
        "text/xml;charset=UTF-8",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
            xml_escape(code),
            xml_escape(message)
        ),
    )
}

/// The awsQuery error document (IAM, Auto Scaling, ELBv2, STS):
/// `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`.
pub fn query_error(
    service: &str,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> Answer {
    let xmlns = match service {
        "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
        "autoscaling" => "http://autoscaling.amazonaws.com/doc/2011-01-01/",
        "elasticloadbalancing" => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
        _ => "https://sts.amazonaws.com/doc/2011-06-15/",
    };
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    Answer::new(
        status,
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"{xmlns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
            xml_escape(code),
            xml_escape(message)
        ),
    )
    .header("x-amzn-requestid", request_id)
}

/// The JSON-protocol error document: `{"__type":"…","message":"…"}`;
/// DynamoDB's type carries its namespace
/// (`com.amazonaws.dynamodb.v20120810#ResourceInUseException`).
pub fn json_error(
    service: &str,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> Answer {
    let (kind, content_type) = if service == "dynamodb" {
        (
            format!("com.amazonaws.dynamodb.v20120810#{code}"),
            "application/x-amz-json-1.0",
        )
    } else {
        (code.to_string(), "application/x-amz-json-1.1")
    };
    let body = serde_json::json!({ "__type": kind, "message": message }).to_string();
    let crc = crc32(body.as_bytes()).to_string();
    let a = Answer::new(status, content_type, body).header("x-amzn-requestid", request_id);
    if service == "dynamodb" {
        a.header("x-amz-crc32", &crc)
    } else {
        a
    }
}

/// An error in the shape of the call's service.
pub fn error_for(call: &Call, status: u16, code: &str, message: &str, request_id: &str) -> Answer {
    match call.service.as_str() {
        "ec2" => ec2_error(status, code, message, request_id),
        "dynamodb" | "ssm" => json_error(&call.service, status, code, message, request_id),
        s => query_error(s, status, code, message, request_id),
    }
}

/// The 500 each service answers for an internal failure.
pub fn internal_error(call: &Call, request_id: &str) -> Answer {
    match call.service.as_str() {
        "ec2" => ec2_error(
            500,
            "InternalError",
            "An internal error has occurred.",
            request_id,
        ),
        "dynamodb" | "ssm" => json_error(
            &call.service,
            500,
            "InternalServerError",
            "Internal server error",
            request_id,
        ),
        s => query_error(
            s,
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            request_id,
        ),
    }
}

/// The throttling answer of the call's service.
pub fn throttled(call: &Call, request_id: &str) -> Answer {
    match call.service.as_str() {
        "ec2" => ec2_error(
            503,
            "RequestLimitExceeded",
            "Request limit exceeded.",
            request_id,
        ),
        "dynamodb" | "ssm" => json_error(
            &call.service,
            400,
            "ThrottlingException",
            "Rate exceeded",
            request_id,
        ),
        s => query_error(s, 400, "Throttling", "Rate exceeded", request_id),
    }
}

// ---------------------------------------------------------------------------
// Reading responses

/// Texts of every element with this local name.
pub fn xml_texts(xml: &str, name: &str) -> Vec<String> {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return Vec::new();
    };
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == name)
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Each load balancer of a `CreateLoadBalancer`/`DescribeLoadBalancers`
/// response with its security groups.
pub fn load_balancer_groups(xml: &str) -> Vec<(String, Vec<String>)> {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return Vec::new();
    };
    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
    }
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "member")
        .filter_map(|m| {
            let arn = child(m, "LoadBalancerArn")?.text()?.trim().to_string();
            let groups = child(m, "SecurityGroups")
                .map(|g| {
                    g.children()
                        .filter(|c| c.is_element())
                        .filter_map(|c| c.text().map(|t| t.trim().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            Some((arn, groups))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The proxy

/// Where a call is when the hook runs: the call's number (1-based, counted
/// from the last [`AwsProxy::reset_calls`]) before it is handled, or after
/// its answer is ready and before the client has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallPoint {
    /// Before call N is handled (it has reached neither moto nor the rules).
    Before(u64),
    /// After call N was answered (by moto or the proxy), before it is sent back.
    After(u64),
}

type Hook = Arc<dyn Fn(CallPoint) + Send + Sync>;

#[derive(Clone, Copy, Debug)]
enum Table {
    Creating(u32),
    Deleting(u32),
}

#[derive(Default)]
struct Inner {
    counts: BTreeMap<&'static str, u64>,
    buckets: HashMap<String, TokenBucket>,
    reads: HashMap<String, u64>,
    /// (kind, name) → calls left answering NoSuchEntity.
    iam_fresh: HashMap<(&'static str, String), u32>,
    fresh_profile: Option<String>,
    seen_instances: HashSet<String>,
    fresh_instances: HashSet<String>,
    fresh_groups: HashSet<String>,
    lb_groups: HashMap<String, Vec<String>>,
    busy_groups: HashMap<String, u32>,
    busy_any: u32,
    /// `REGION/TABLE` → its transition.
    tables: HashMap<String, Table>,
    /// Instance refreshes, which moto lacks: scripted answers.
    refreshes: super::refresh_standin::Refreshes,
    /// `REGION/TABLE` → its last description.
    table_bodies: HashMap<String, Value>,
    request_ids: u64,
}

impl Inner {
    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }
}

enum Decision {
    Answer(Answer),
    Forward(Option<&'static str>),
}

struct State {
    config: Config,
    moto: String,
    client: Client<HttpConnector, Full<Bytes>>,
    inner: Mutex<Inner>,
    calls: AtomicU64,
    hook: Mutex<Option<Hook>>,
}

/// The `TableName` of a DynamoDB call, or the table of a `ResourceArn`.
fn table_of(call: &Call) -> Option<String> {
    if let Some(t) = call.json_str("TableName") {
        return Some(t.to_string());
    }
    let arn = call.json_str("ResourceArn")?;
    arn.split_once(":table/")
        .map(|(_, t)| t.split('/').next().unwrap_or(t).to_string())
}

impl State {
    fn request_id(&self, s: &mut Inner) -> String {
        s.request_ids += 1;
        let mut r = fastrand::Rng::with_seed(self.config.seed ^ s.request_ids);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            r.u32(..),
            r.u16(..),
            0x4000 | (r.u16(..) & 0x0fff),
            0x8000 | (r.u16(..) & 0x3fff),
            r.u64(..) & 0xffff_ffff_ffff
        )
    }

    fn hook(&self, point: CallPoint) {
        let hook = self.hook.lock().unwrap().clone();
        if let Some(h) = hook {
            h(point);
        }
    }

    /// Answers the call itself, or says to forward it (and how to rewrite the answer).
    fn decide(&self, call: &Call) -> Decision {
        let cfg = &self.config;
        let mut s = self.inner.lock().unwrap();
        let s = &mut *s;
        s.count("requests");
        if call.service.is_empty() {
            return Decision::Forward(None);
        }
        if cfg.throttling {
            if let Some((key, limits)) = bucket_of(call) {
                let now = Instant::now();
                let ok = s
                    .buckets
                    .entry(key)
                    .or_insert_with(|| TokenBucket::new(limits, now))
                    .take(now);
                if !ok {
                    s.count(match call.service.as_str() {
                        "ec2" => "throttled_ec2",
                        "ssm" => "throttled_ssm",
                        "autoscaling" => "throttled_autoscaling",
                        _ => "throttled_elb",
                    });
                    let id = self.request_id(s);
                    return Decision::Answer(throttled(call, &id));
                }
            }
        }
        if cfg.internal_error_rate > 0.0 && call.is_read() {
            let key = format!("{}/{}", call.service, call.action);
            let n = s.reads.entry(key).or_default();
            *n += 1;
            let n = *n;
            if injects_error(
                cfg.seed,
                &call.service,
                &call.action,
                n,
                cfg.internal_error_rate,
            ) {
                s.count("internal_errors");
                let id = self.request_id(s);
                return Decision::Answer(internal_error(call, &id));
            }
        }
        let refuse = |s: &mut Inner, what: &'static str, status: u16, code: &str, msg: &str| {
            s.count(what);
            let id = self.request_id(s);
            Decision::Answer(error_for(call, status, code, msg, &id))
        };
        if call.service == "autoscaling" {
            let id = self.request_id(s);
            let before = s.refreshes.not_listed_yet;
            if let Some(answer) = s.refreshes.answer(&call.action, &call.params, &id) {
                s.count("scripted_refresh_answers");
                if s.refreshes.not_listed_yet > before {
                    s.count("refresh_not_listed_yet");
                }
                return Decision::Answer(match answer {
                    Ok(xml) => Answer::new(200, "text/xml", xml),
                    Err((status, code, message)) => {
                        query_error("autoscaling", status, code, &message, &id)
                    }
                });
            }
        }
        match (call.service.as_str(), call.action.as_str()) {
            ("iam", "AttachRolePolicy" | "AddRoleToInstanceProfile") if cfg.iam_consistency => {
                let mut named: Vec<(&'static str, String)> = Vec::new();
                if let Some(p) = call.param("InstanceProfileName") {
                    named.push(("profile", p.to_string()));
                }
                if let Some(r) = call.param("RoleName") {
                    named.push(("role", r.to_string()));
                }
                if let Some(arn) = call.param("PolicyArn") {
                    named.push(("policy", arn.to_string()));
                }
                let mut message = None;
                for (kind, name) in &named {
                    let key_name = if *kind == "policy" {
                        name.rsplit('/').next().unwrap_or(name).to_string()
                    } else {
                        name.clone()
                    };
                    if let Some(left) = s.iam_fresh.get_mut(&(*kind, key_name.clone())) {
                        if *left > 0 {
                            *left -= 1;
                            message.get_or_insert_with(|| match *kind {
                                "role" => format!("The role with name {name} cannot be found."),
                                "policy" => {
                                    format!("Policy {name} does not exist or is not attachable.")
                                }
                                _ => format!("Instance Profile {name} cannot be found."),
                            });
                        }
                    }
                }
                if let Some(m) = message {
                    return refuse(s, "iam_no_such_entity", 404, "NoSuchEntity", &m);
                }
            }
            ("autoscaling", "CreateAutoScalingGroup") if cfg.iam_consistency => {
                if let Some(profile) = s.fresh_profile.take() {
                    let m = format!(
                        "You must use a valid fully-formed launch template. Value ({profile}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
                    );
                    return refuse(s, "asg_invalid_profile", 400, "ValidationError", &m);
                }
            }
            ("ec2", "DescribeInstances") if cfg.ec2_consistency => {
                let fresh: Vec<String> = call
                    .list("InstanceId")
                    .into_iter()
                    .filter(|id| s.fresh_instances.remove(*id))
                    .map(str::to_string)
                    .collect();
                if !fresh.is_empty() {
                    let m = if fresh.len() == 1 {
                        format!("The instance ID '{}' does not exist", fresh[0])
                    } else {
                        format!("The instance IDs '{}' do not exist", fresh.join(", "))
                    };
                    return refuse(
                        s,
                        "ec2_instance_not_found",
                        400,
                        "InvalidInstanceID.NotFound",
                        &m,
                    );
                }
            }
            ("ec2", "AuthorizeSecurityGroupIngress") if cfg.ec2_consistency => {
                if let Some(g) = call.param("GroupId") {
                    if s.fresh_groups.remove(g) {
                        let m = format!("The security group '{g}' does not exist");
                        return refuse(s, "ec2_group_not_found", 400, "InvalidGroup.NotFound", &m);
                    }
                }
            }
            ("ec2", "DeleteSecurityGroup") if cfg.lingering_interfaces => {
                let g = call
                    .param("GroupId")
                    .or_else(|| call.param("GroupName"))
                    .unwrap_or_default()
                    .to_string();
                let busy = match s.busy_groups.get_mut(&g) {
                    Some(left) if *left > 0 => {
                        *left -= 1;
                        true
                    }
                    _ if s.busy_any > 0 => {
                        s.busy_any -= 1;
                        true
                    }
                    _ => false,
                };
                if busy {
                    let m = format!("resource {g} has a dependent object");
                    return refuse(s, "sg_dependency_violation", 400, "DependencyViolation", &m);
                }
            }
            ("dynamodb", action) if cfg.table_transitions => {
                if let Some(t) = table_of(call) {
                    if let Some(d) = self.table_rule(s, call, action, &t) {
                        return d;
                    }
                }
            }
            _ => {}
        }
        Decision::Forward(None)
    }

    /// DynamoDB: a table `CREATING` or `DELETING`.
    fn table_rule(&self, s: &mut Inner, call: &Call, action: &str, t: &str) -> Option<Decision> {
        let k = format!("{}/{t}", call.region);
        let state = *s.tables.get(&k)?;
        let tick = |s: &mut Inner| {
            let done = match s.tables.get_mut(&k) {
                Some(Table::Creating(n) | Table::Deleting(n)) => {
                    *n = n.saturating_sub(1);
                    *n == 0
                }
                None => false,
            };
            if done {
                s.tables.remove(&k);
            }
        };
        let decision = match (state, action) {
            (Table::Creating(_), "DescribeTable") => {
                s.count("ddb_creating");
                Decision::Forward(Some("CREATING"))
            }
            (Table::Creating(_), "ListTagsOfResource") => {
                s.count("ddb_creating");
                let id = self.request_id(s);
                let arn = call.json_str("ResourceArn").unwrap_or(t);
                Decision::Answer(error_for(
                    call,
                    400,
                    "ResourceNotFoundException",
                    &format!("Requested resource not found: ResourceArn: {arn} not found"),
                    &id,
                ))
            }
            (Table::Creating(_), "DeleteTable") => {
                s.count("ddb_creating");
                let id = self.request_id(s);
                Decision::Answer(error_for(
                    call,
                    400,
                    "ResourceInUseException",
                    &format!(
                        "Attempt to change a resource which is still in use: Table is being created: {t}"
                    ),
                    &id,
                ))
            }
            (Table::Deleting(_), "DescribeTable" | "DeleteTable") => {
                s.count("ddb_deleting");
                let mut table = s.table_bodies.get(&k).cloned().unwrap_or_else(|| {
                    serde_json::json!({
                        "TableName": t,
                        "TableArn": format!("arn:aws:dynamodb:{}:123456789012:table/{t}", call.region),
                    })
                });
                table["TableStatus"] = Value::from("DELETING");
                let key = if action == "DescribeTable" {
                    "Table"
                } else {
                    "TableDescription"
                };
                let id = self.request_id(s);
                let mut a = Answer::new(200, "application/x-amz-json-1.0", String::new())
                    .header("x-amzn-requestid", &id)
                    .header("x-amz-crc32", "0");
                a.set_json(&serde_json::json!({ key: table }));
                Decision::Answer(a)
            }
            (Table::Deleting(_), "CreateTable") => {
                s.count("ddb_deleting");
                let id = self.request_id(s);
                Decision::Answer(error_for(
                    call,
                    400,
                    "ResourceInUseException",
                    &format!("Table already exists: {t}"),
                    &id,
                ))
            }
            _ => return None,
        };
        tick(s);
        Some(decision)
    }

    /// Learns from moto's answer (new ids, new entities, deletions) and
    /// rewrites it where AWS would answer otherwise.
    fn observe(&self, call: &Call, rewrite: Option<&'static str>, mut a: Answer) -> Answer {
        let cfg = &self.config;
        if !a.status.is_success() {
            return a;
        }
        let mut s = self.inner.lock().unwrap();
        let s = &mut *s;
        let seed = cfg.seed;
        match (call.service.as_str(), call.action.as_str()) {
            ("iam", action @ ("CreateRole" | "CreatePolicy" | "CreateInstanceProfile"))
                if cfg.iam_consistency =>
            {
                let (kind, param) = match action {
                    "CreateRole" => ("role", "RoleName"),
                    "CreatePolicy" => ("policy", "PolicyName"),
                    _ => ("profile", "InstanceProfileName"),
                };
                if let Some(name) = call.param(param) {
                    let n = budget(seed, kind, name, IAM_NOT_YET);
                    s.iam_fresh.insert((kind, name.to_string()), n);
                    if kind == "profile" {
                        s.fresh_profile = Some(name.to_string());
                    }
                }
            }
            ("ec2", "RunInstances") | ("autoscaling", "DescribeAutoScalingGroups")
                if cfg.ec2_consistency =>
            {
                for id in xml_texts(a.text(), "instanceId")
                    .into_iter()
                    .chain(xml_texts(a.text(), "InstanceId"))
                {
                    if s.seen_instances.insert(id.clone()) {
                        s.fresh_instances.insert(id);
                    }
                }
            }
            ("ec2", "CreateSecurityGroup") if cfg.ec2_consistency => {
                for id in xml_texts(a.text(), "groupId") {
                    s.fresh_groups.insert(id);
                }
            }
            ("elasticloadbalancing", "CreateLoadBalancer" | "DescribeLoadBalancers")
                if cfg.lingering_interfaces =>
            {
                for (arn, groups) in load_balancer_groups(a.text()) {
                    s.lb_groups.insert(arn, groups);
                }
            }
            ("elasticloadbalancing", "DeleteLoadBalancer") if cfg.lingering_interfaces => {
                let arn = call.param("LoadBalancerArn").unwrap_or_default();
                match s.lb_groups.remove(arn) {
                    Some(groups) if !groups.is_empty() => {
                        for g in groups {
                            let n = budget(seed, "eni", &g, ENI_LINGER);
                            s.busy_groups.insert(g, n);
                        }
                    }
                    _ => s.busy_any = budget(seed, "eni", arn, ENI_LINGER),
                }
            }
            ("dynamodb", action @ ("CreateTable" | "DescribeTable" | "DeleteTable"))
                if cfg.table_transitions =>
            {
                let Ok(mut v) = serde_json::from_slice::<Value>(&a.body) else {
                    return a;
                };
                let key = if action == "DescribeTable" {
                    "Table"
                } else {
                    "TableDescription"
                };
                let Some(name) = v[key]["TableName"].as_str().map(str::to_string) else {
                    return a;
                };
                let k = format!("{}/{name}", call.region);
                s.table_bodies.insert(k.clone(), v[key].clone());
                let status = match action {
                    "CreateTable" => {
                        let n = budget(seed, "creating", &name, TABLE_TRANSITION);
                        s.tables.insert(k, Table::Creating(n));
                        Some("CREATING")
                    }
                    "DeleteTable" => {
                        let n = budget(seed, "deleting", &name, TABLE_TRANSITION);
                        s.tables.insert(k, Table::Deleting(n));
                        Some("DELETING")
                    }
                    _ => rewrite,
                };
                if let Some(status) = status {
                    v[key]["TableStatus"] = Value::from(status);
                    a.set_json(&v);
                }
            }
            _ => {}
        }
        a
    }

    async fn forward(&self, parts: &hyper::http::request::Parts, body: Bytes) -> Answer {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut out = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path}", self.moto));
        for (k, v) in &parts.headers {
            out = out.header(k, v);
        }
        match self
            .client
            .request(out.body(Full::new(body)).unwrap())
            .await
        {
            Ok(r) => {
                let (parts, body) = r.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                Answer {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                }
            }
            Err(e) => Answer::new(502, "text/plain", e.to_string()),
        }
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.hook(CallPoint::Before(n));
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let call = Call::parse(&parts.headers, parts.uri.query(), &body);
        let answer = match self.decide(&call) {
            Decision::Answer(a) => a,
            Decision::Forward(rewrite) => {
                let a = self.forward(&parts, body).await;
                self.inner.lock().unwrap().count("forwarded");
                self.observe(&call, rewrite, a)
            }
        };
        self.hook(CallPoint::After(n));
        let mut response = Response::new(Full::new(answer.body));
        *response.status_mut() = answer.status;
        for (k, v) in &answer.headers {
            // hyper frames the body itself.
            if k != hyper::header::CONTENT_LENGTH
                && k != hyper::header::TRANSFER_ENCODING
                && k != hyper::header::CONNECTION
            {
                response.headers_mut().append(k, v.clone());
            }
        }
        response
    }
}

/// The proxy, on its own thread and runtime, on 127.0.0.1.
pub struct AwsProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    test: String,
}

impl AwsProxy {
    /// Starts a proxy in front of `moto` (`http://127.0.0.1:PORT`).
    pub fn start(moto: &str, config: Config) -> AwsProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the AWS proxy");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            config,
            moto: moto.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            inner: Mutex::new(Inner::default()),
            calls: AtomicU64::new(0),
            hook: Mutex::new(None),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        let thread = std::thread::Builder::new()
            .name("aws-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(serve(listener, served, stopped));
            })
            .expect("start the AWS proxy thread");
        AwsProxy {
            url,
            state,
            stop: Some(stop),
            thread: Some(thread),
            test: std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_string(),
        }
    }

    /// What each behaviour did so far.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.state
            .inner
            .lock()
            .unwrap()
            .counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// One count (0 when it never happened).
    pub fn count(&self, what: &str) -> u64 {
        self.counts().get(what).copied().unwrap_or(0)
    }

    /// Calls received since the last [`AwsProxy::reset_calls`].
    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// Numbers calls from 1 again.
    pub fn reset_calls(&self) {
        self.state.calls.store(0, Ordering::SeqCst);
    }

    /// Runs `hook` before and after every call (e.g. to kill the client at call N).
    pub fn set_hook(&self, hook: impl Fn(CallPoint) + Send + Sync + 'static) {
        *self.state.hook.lock().unwrap() = Some(Arc::new(hook));
    }

    /// The configuration.
    /// The instance refreshes started for `group` (scripted: moto has none),
    /// oldest first, with the requests as sent.
    pub fn refreshes(&self, group: &str) -> Vec<super::refresh_standin::Scripted> {
        self.state.inner.lock().unwrap().refreshes.of(group)
    }

    pub fn config(&self) -> &Config {
        &self.state.config
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(state.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let counts = self.counts();
        let line = serde_json::json!({
            "test": self.test,
            "seed": self.state.config.seed,
            "behaviours": self.state.config.throttling
                || self.state.config.iam_consistency
                || self.state.config.table_transitions,
            "counts": counts,
        });
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("aws-proxy-counts.jsonl");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
        let summary: Vec<String> = counts
            .iter()
            .filter(|(k, _)| *k != "requests" && *k != "forwarded")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        eprintln!(
            "aws-proxy [{}]: {} requests, {} forwarded; {}",
            self.test,
            counts.get("requests").copied().unwrap_or(0),
            counts.get("forwarded").copied().unwrap_or(0),
            if summary.is_empty() {
                "no AWS behaviour applied".to_string()
            } else {
                summary.join(" ")
            }
        );
    }
}
