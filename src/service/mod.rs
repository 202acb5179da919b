//! The recommendation web service every instance runs, independent of where.
//!
//! `GET /` answers one random recommendation read from the table named by the
//! table parameter; `GET /healthcheck` answers the load balancer. Three
//! parameters steer every request (see [`crate::names::Names`]): the table name,
//! the failure response (`none` aborts the request so the load balancer answers
//! 502, `static` answers the fallback with 200) and the health check (`shallow`
//! is always healthy, `deep` is healthy only when the table can be read). A
//! fourth, the fault parameter, injects latency and errors into every read of
//! the table (see [`DependencyFault`]).
//!
//! A service process reads the four parameters at most once per max age
//! (one cloud second), not on every request: see [`ParameterCache`].
//!
//! The same contract is implemented by the Python server shipped to EC2.

pub mod catalog;
mod faults;
mod parameters;

pub use faults::{DependencyFault, Faults};
pub(crate) use parameters::ParameterCache;

use crate::cloud::Break;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// One recommendation as stored in the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Partition key: Book, Movie or Song.
    #[serde(rename = "MediaType")]
    pub media_type: String,
    /// Sort key.
    #[serde(rename = "ItemId")]
    pub item_id: i64,
    /// The title.
    #[serde(rename = "Title")]
    pub title: String,
    /// Author, director or artist.
    #[serde(rename = "Creator")]
    pub creator: String,
}

/// What `GET /` does when the table cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureResponse {
    /// Fail the request: the connection is dropped and the load balancer answers 502.
    None,
    /// Answer 200 with the static fallback recommendation.
    Static,
}

impl FailureResponse {
    /// Reads the parameter value; anything but `static` means `none`.
    pub(crate) fn parse(value: &str) -> Self {
        if value.trim().eq_ignore_ascii_case("static") {
            FailureResponse::Static
        } else {
            FailureResponse::None
        }
    }
}

/// How `GET /healthcheck` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthCheck {
    /// Always healthy.
    Shallow,
    /// Healthy only if the table can be read.
    Deep,
    /// A deep check that tolerates an outage of the shared dependency:
    /// unhealthy only when this instance itself cannot use the table (its
    /// access is denied or its credentials fail); when the table fails for
    /// everyone (missing, throttled, erroring) it stays healthy and says it
    /// is degraded, so the load balancer keeps routing and the fallback
    /// answers.
    Tolerant,
}

impl HealthCheck {
    /// Reads the parameter value; anything but `deep` or `tolerant` means
    /// `shallow`.
    pub(crate) fn parse(value: &str) -> Self {
        let value = value.trim();
        if value.eq_ignore_ascii_case("deep") {
            HealthCheck::Deep
        } else if value.eq_ignore_ascii_case("tolerant") {
            HealthCheck::Tolerant
        } else {
            HealthCheck::Shallow
        }
    }

    /// The word the health check's answer carries.
    fn word(self) -> &'static str {
        match self {
            HealthCheck::Shallow => "shallow",
            HealthCheck::Deep => "deep",
            HealthCheck::Tolerant => "tolerant",
        }
    }
}

/// Error codes that say this instance itself cannot use the dependency
/// (not that the dependency is down for everyone).
const OWN_ACCESS_ERRORS: [&str; 6] = [
    RELEASE_BROKEN,
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
];

/// The code of a broken release's failed read of its dependency (its own
/// fault, not the dependency's).
const RELEASE_BROKEN: &str = "ReleaseBroken";

/// The parameter values a fresh deployment starts with (and `failure::reset()` restores).
pub(crate) mod defaults {
    /// `failure-response` default.
    pub(crate) const FAILURE_RESPONSE: &str = "none";
    /// `health-check` default.
    pub(crate) const HEALTH_CHECK: &str = "shallow";
}

/// The names of the four parameters that steer every request (an instance
/// reads them at most once per max age: see [`ParameterCache`]).
#[derive(Debug, Clone)]
pub(crate) struct ParameterNames {
    /// Names the table to read.
    pub table: String,
    /// `none` or `static`.
    pub failure_response: String,
    /// `shallow` or `deep`.
    pub health_check: String,
    /// The injected dependency fault.
    pub fault: String,
}

impl ParameterNames {
    /// The names in reading order: table, failure response, health check, fault.
    pub(crate) fn in_order(&self) -> [&str; 4] {
        [
            self.table.as_str(),
            self.failure_response.as_str(),
            self.health_check.as_str(),
            self.fault.as_str(),
        ]
    }
}

impl From<&crate::names::Names> for ParameterNames {
    fn from(n: &crate::names::Names) -> Self {
        ParameterNames {
            table: n.param_table.clone(),
            failure_response: n.param_failure_response.clone(),
            health_check: n.param_health_check.clone(),
            fault: n.param_fault.clone(),
        }
    }
}

/// A failed read of a dependency (parameter store or table), as the SDK would report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DependencyError {
    /// The error code, e.g. `AccessDeniedException`.
    pub code: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for DependencyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// What the service reads, with the instance's own credentials.
#[async_trait]
pub(crate) trait Dependencies: Send + Sync {
    /// Reads parameters by name, in order.
    async fn get_parameters(&self, names: &[&str]) -> Result<Vec<String>, DependencyError>;
    /// Reads every item of one media type from `table`.
    async fn query(&self, table: &str, media_type: &str) -> Result<Vec<Item>, DependencyError>;
}

/// Who is answering: goes into every response's `Metadata`.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// The instance id.
    pub instance_id: String,
    /// The instance's Availability Zone.
    pub az: String,
    /// Crash tokens this instance's service already crashed for (kept across
    /// restarts of the process, as a file in `/run` is on EC2).
    pub crashed: Arc<Mutex<BTreeSet<String>>>,
    /// The release this instance runs: its label goes into every answer's
    /// `Metadata.Version`, and how it is broken changes the answers.
    pub release: crate::cloud::Release,
}

/// The service's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// Answer with this status and JSON body.
    Json {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: Value,
    },
    /// Answer nothing and drop the connection (the load balancer turns this into 502).
    Abort {
        /// Why, for the instance's log.
        reason: String,
    },
    /// The service process crashes now (its supervisor restarts it).
    Crash,
}

/// Answers one `GET` of `path`, with the parameters as `params` has them.
///
/// While the fault parameter lists this instance under `hang`, the request
/// gets no answer: it re-reads the parameters (through the cache) once per
/// max age, and once the hang is lifted it is answered as any other.
pub(crate) async fn handle(
    path: &str,
    params: &ParameterCache,
    deps: &dyn Dependencies,
    me: &Identity,
) -> Reply {
    let path = path.split('?').next().unwrap_or(path);
    let (values, faults) = loop {
        let values = match params.get(deps).await {
            Ok(v) => v,
            // No parameters yet (a server started while Parameter Store
            // fails): say so, to customers and to the load balancer.
            Err(e) => return no_parameters(path, &e),
        };
        let faults = Faults::parse(&values[3]);
        if let Some(token) = faults.crash.get(&me.instance_id) {
            let first = crate::sync::lock(&me.crashed).insert(token.clone());
            if first {
                return Reply::Crash;
            }
        }
        if !faults.hang.contains(&me.instance_id) {
            break (values, faults);
        }
        tokio::time::sleep(params.max_age().max(HANG_RECHECK_MIN)).await;
    };
    let (table, failure, health, fault) = (
        values[0].as_str(),
        FailureResponse::parse(&values[1]),
        HealthCheck::parse(&values[2]),
        faults.dependency,
    );
    let table = Table {
        name: table,
        fault,
        deps,
    };
    let broken = me.release.broken;
    match path {
        "/" if broken == Break::Error500 => Reply::Json {
            status: 500,
            body: json!({"error": "internal server error", "Metadata": metadata(me)}),
        },
        "/" => recommend(&table, failure, me).await,
        "/healthcheck" => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            // The parameters' max age is one cloud second, on both backends.
            let second = match params.max_age() {
                d if d.is_zero() => std::time::Duration::from_secs(1),
                d => d,
            };
            if faults.flapping_down(&me.instance_id, now, second) {
                return Reply::Json {
                    status: 503,
                    body: json!({"healthy": false, "check": health.word(), "error": FLAPPING}),
                };
            }
            health_check(&table, health, broken).await
        }
        _ => Reply::Json {
            status: 404,
            body: json!({"error": "not found", "path": path}),
        },
    }
}

/// What a server without parameters answers every request: 503, and why.
fn no_parameters(path: &str, e: &DependencyError) -> Reply {
    let mut body = json!({"error": PARAMETERS_UNAVAILABLE, "code": e.code});
    if path == "/healthcheck" {
        body["healthy"] = json!(false);
    }
    Reply::Json { status: 503, body }
}

/// What a server answers while it has no parameters.
pub(crate) const PARAMETERS_UNAVAILABLE: &str = "parameters unavailable";

/// What a flapping health check answers in its failing phase.
pub(crate) const FLAPPING: &str = "flapping (injected)";

/// The shortest wait between two looks at the parameters of a hung request.
const HANG_RECHECK_MIN: std::time::Duration = std::time::Duration::from_millis(10);

/// The table as one request sees it: its name, the fault injected into
/// reads of it, and the instance's own access to it.
struct Table<'a> {
    name: &'a str,
    fault: DependencyFault,
    deps: &'a dyn Dependencies,
}

impl Table<'_> {
    /// Reads one media type, through the injected fault.
    async fn query(&self, media_type: &str) -> Result<Vec<Item>, DependencyError> {
        self.fault.apply().await?;
        self.deps.query(self.name, media_type).await
    }
}

async fn recommend(table: &Table<'_>, failure: FailureResponse, me: &Identity) -> Reply {
    let media_type = catalog::MEDIA_TYPES[fastrand::usize(..catalog::MEDIA_TYPES.len())];
    let read = table.query(media_type).await.and_then(|items| {
        if items.is_empty() {
            Err(DependencyError {
                code: "NoItems".into(),
                message: format!("table {} has no {media_type} items", table.name),
            })
        } else {
            Ok(items[fastrand::usize(..items.len())].clone())
        }
    });
    let (item, fallback) = match (read, failure) {
        (Ok(item), _) => (item, false),
        (Err(_), FailureResponse::Static) => (catalog::fallback(), true),
        (Err(e), FailureResponse::None) => {
            return Reply::Abort {
                reason: format!("cannot read table {}: {e}", table.name),
            };
        }
    };
    let mut body = serde_json::to_value(&item).unwrap_or_else(|_| json!({}));
    body["Fallback"] = json!(fallback);
    body["Metadata"] = metadata(me);
    Reply::Json { status: 200, body }
}

/// Who answered: the instance, its zone and the release it runs.
fn metadata(me: &Identity) -> Value {
    json!({
        "InstanceId": me.instance_id,
        "AvailabilityZone": me.az,
        "Version": me.release.label,
    })
}

/// What a failed deep health check answers, whatever the dependency said.
pub(crate) const DEPENDENCY_UNAVAILABLE: &str = "dependency unavailable";

async fn health_check(table: &Table<'_>, health: HealthCheck, broken: Break) -> Reply {
    if health == HealthCheck::Shallow {
        return Reply::Json {
            status: 200,
            body: json!({"healthy": true, "check": "shallow"}),
        };
    }
    let check = health.word();
    // A release whose dependency read is broken fails its deep (and
    // tolerant) check whatever the table says: it is this instance's own
    // fault.
    let read = match broken {
        Break::DeepCheck | Break::Error500 => Err(DependencyError {
            code: RELEASE_BROKEN.into(),
            message: format!("release {} cannot read its dependency", broken.as_str()),
        }),
        _ => table.query(catalog::MEDIA_TYPES[0]).await.map(|_| ()),
    };
    match read {
        Ok(()) => Reply::Json {
            status: 200,
            body: json!({"healthy": true, "check": check}),
        },
        // The dependency is down for everyone: taking this instance out
        // would not help (and with every instance out, the load balancer
        // fails open anyway). Healthy, degraded, and the code says why.
        Err(e)
            if health == HealthCheck::Tolerant && !OWN_ACCESS_ERRORS.contains(&e.code.as_str()) =>
        {
            Reply::Json {
                status: 200,
                body: json!({"healthy": true, "check": check, "degraded": true, "dependency": e.code}),
            }
        }
        // Short on the wire: the load balancer (and anyone behind it) need
        // not learn account ids or role ARNs from the dependency's error.
        Err(_) => Reply::Json {
            status: 503,
            body: json!({"healthy": false, "check": check, "error": DEPENDENCY_UNAVAILABLE}),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake {
        params: Mutex<HashMap<String, String>>,
        table_ok: bool,
        denied: bool,
    }

    #[async_trait]
    impl Dependencies for Fake {
        async fn get_parameters(&self, names: &[&str]) -> Result<Vec<String>, DependencyError> {
            let params = self.params.lock().unwrap();
            Ok(names.iter().map(|n| params[*n].clone()).collect())
        }
        async fn query(&self, table: &str, media_type: &str) -> Result<Vec<Item>, DependencyError> {
            if self.denied {
                return Err(DependencyError {
                    code: "AccessDeniedException".into(),
                    message: "not authorized".into(),
                });
            }
            if self.table_ok && table == "t" {
                Ok(catalog::items()
                    .into_iter()
                    .filter(|i| i.media_type == media_type)
                    .collect())
            } else {
                Err(DependencyError {
                    code: "ResourceNotFoundException".into(),
                    message: "no".into(),
                })
            }
        }
    }

    fn fake(failure: &str, health: &str, table_ok: bool) -> (Fake, ParameterCache, Identity) {
        faulty(failure, health, table_ok, "{}")
    }

    /// Parameters re-read at most every 20 ms.
    const MAX_AGE: std::time::Duration = std::time::Duration::from_millis(20);

    fn faulty(
        failure: &str,
        health: &str,
        table_ok: bool,
        fault: &str,
    ) -> (Fake, ParameterCache, Identity) {
        let names = ParameterNames {
            table: "p-table".into(),
            failure_response: "p-fr".into(),
            health_check: "p-hc".into(),
            fault: "p-fault".into(),
        };
        let params = HashMap::from([
            ("p-table".to_string(), "t".to_string()),
            ("p-fr".to_string(), failure.to_string()),
            ("p-hc".to_string(), health.to_string()),
            ("p-fault".to_string(), fault.to_string()),
        ]);
        let me = Identity {
            instance_id: "i-1".into(),
            az: "az-a".into(),
            crashed: Default::default(),
            release: crate::cloud::Release::first(),
        };
        let fake = Fake {
            params: Mutex::new(params),
            table_ok,
            denied: false,
        };
        (fake, ParameterCache::new(names, MAX_AGE), me)
    }

    #[tokio::test]
    async fn injected_latency_and_errors_reach_reads_and_deep_checks() {
        let (deps, names, me) = faulty("none", "deep", true, r#"{"error_rate": 1.0}"#);
        assert!(matches!(
            handle("/", &names, &deps, &me).await,
            Reply::Abort { .. }
        ));
        assert!(matches!(
            handle("/healthcheck", &names, &deps, &me).await,
            Reply::Json { status: 503, .. }
        ));
        let (deps, names, me) = faulty("none", "shallow", true, r#"{"latency_ms": 120}"#);
        let started = std::time::Instant::now();
        let reply = handle("/", &names, &deps, &me).await;
        assert!(matches!(reply, Reply::Json { status: 200, .. }));
        assert!(started.elapsed() >= std::time::Duration::from_millis(120));
    }

    #[tokio::test]
    async fn a_crash_happens_once_per_token() {
        let (deps, names, me) = faulty("none", "shallow", true, r#"{"crash": {"i-1": "t1"}}"#);
        assert_eq!(handle("/", &names, &deps, &me).await, Reply::Crash);
        assert!(matches!(
            handle("/", &names, &deps, &me).await,
            Reply::Json { status: 200, .. }
        ));
        let f = Faults::parse(r#"{"latency_ms": 5, "hang": ["i-1"], "crash": {"i-2": "x"}}"#);
        assert_eq!(Faults::parse(&f.to_json()), f);
        assert_eq!(Faults::parse(r#"{"hang": 5}"#), Faults::default());
    }

    #[tokio::test]
    async fn a_hung_request_waits_while_listed_and_is_answered_once_the_hang_is_lifted() {
        let (deps, names, me) = faulty(
            "none",
            "shallow",
            true,
            r#"{"crash": {"i-2": "t1"}, "hang": ["i-1"]}"#,
        );
        let waiting =
            tokio::time::timeout(MAX_AGE * 10, handle("/healthcheck", &names, &deps, &me)).await;
        assert!(waiting.is_err(), "a hung service does not answer");
        let request = handle("/healthcheck", &names, &deps, &me);
        let lift = async {
            tokio::time::sleep(MAX_AGE * 3).await;
            deps.params
                .lock()
                .unwrap()
                .insert("p-fault".into(), "{}".into());
        };
        let started = std::time::Instant::now();
        let (reply, ()) = tokio::join!(request, lift);
        assert!(
            matches!(reply, Reply::Json { status: 200, .. }),
            "answered once lifted: {reply:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[tokio::test]
    async fn healthy_answers_a_real_item_with_metadata() {
        let (deps, names, me) = fake("none", "shallow", true);
        let Reply::Json { status, body } = handle("/", &names, &deps, &me).await else {
            panic!("aborted")
        };
        assert_eq!(status, 200);
        assert_eq!(body["Fallback"], json!(false));
        assert!(body["ItemId"].as_i64().unwrap() >= 1);
        assert_eq!(body["Metadata"]["InstanceId"], "i-1");
    }

    #[tokio::test]
    async fn broken_table_aborts_or_falls_back() {
        let (deps, names, me) = fake("none", "shallow", false);
        assert!(matches!(
            handle("/", &names, &deps, &me).await,
            Reply::Abort { .. }
        ));
        let (deps, names, me) = fake("static", "shallow", false);
        let Reply::Json { status, body } = handle("/", &names, &deps, &me).await else {
            panic!("aborted")
        };
        assert_eq!(status, 200);
        assert_eq!(body["Fallback"], json!(true));
        assert_eq!(body["ItemId"], json!(catalog::FALLBACK_ITEM_ID));
    }

    #[tokio::test]
    async fn deep_check_reflects_table_shallow_does_not() {
        let (deps, names, me) = fake("none", "shallow", false);
        let reply = handle("/healthcheck", &names, &deps, &me).await;
        assert!(matches!(reply, Reply::Json { status: 200, .. }));
        let (deps, names, me) = fake("none", "deep", false);
        let reply = handle("/healthcheck", &names, &deps, &me).await;
        assert!(matches!(reply, Reply::Json { status: 503, .. }));
        let (deps, names, me) = fake("none", "deep", true);
        let reply = handle("/healthcheck", &names, &deps, &me).await;
        assert!(matches!(reply, Reply::Json { status: 200, .. }));
    }

    #[tokio::test]
    async fn a_broken_release_answers_as_it_is_broken() {
        use crate::cloud::{Break, Release};
        let with = |broken, health: &str| {
            let (deps, names, mut me) = fake("none", health, true);
            me.release = Release {
                label: "v9".into(),
                broken,
            };
            (deps, names, me)
        };
        // error_500: requests answer 500 with the version; a shallow check
        // passes, a deep one fails.
        let (deps, names, me) = with(Break::Error500, "shallow");
        let Reply::Json { status, body } = handle("/", &names, &deps, &me).await else {
            panic!("aborted")
        };
        assert_eq!(status, 500);
        assert_eq!(body["Metadata"]["Version"], "v9");
        assert!(matches!(
            handle("/healthcheck", &names, &deps, &me).await,
            Reply::Json { status: 200, .. }
        ));
        let (deps, names, me) = with(Break::Error500, "deep");
        assert!(matches!(
            handle("/healthcheck", &names, &deps, &me).await,
            Reply::Json { status: 503, .. }
        ));
        // deep_check: requests are answered, the deep check fails.
        let (deps, names, me) = with(Break::DeepCheck, "deep");
        let Reply::Json { status, body } = handle("/", &names, &deps, &me).await else {
            panic!("aborted")
        };
        assert_eq!(
            (status, body["Metadata"]["Version"].as_str()),
            (200, Some("v9"))
        );
        assert!(matches!(
            handle("/healthcheck", &names, &deps, &me).await,
            Reply::Json { status: 503, .. }
        ));
        // A good release: its version, a passing deep check.
        let (deps, names, me) = with(Break::None, "deep");
        assert!(matches!(
            handle("/healthcheck", &names, &deps, &me).await,
            Reply::Json { status: 200, .. }
        ));
    }

    #[tokio::test]
    async fn a_tolerant_check_fails_only_on_this_instance_s_own_access() {
        // The table is missing for everyone: healthy, degraded.
        let (deps, names, me) = fake("none", "tolerant", false);
        let Reply::Json { status, body } = handle("/healthcheck", &names, &deps, &me).await else {
            panic!("aborted")
        };
        assert_eq!(status, 200);
        assert_eq!(body["degraded"], json!(true));
        assert_eq!(body["dependency"], "ResourceNotFoundException");
        // Throttled for everyone: healthy too.
        let (deps, names, me) = faulty("none", "tolerant", true, r#"{"throttle_rate": 1}"#);
        let Reply::Json { status, body } = handle("/healthcheck", &names, &deps, &me).await else {
            panic!("aborted")
        };
        assert_eq!(
            (status, &body["dependency"]),
            (200, &json!(faults::THROTTLED))
        );
        // This instance may not read it: unhealthy.
        let (mut deps, names, me) = fake("none", "tolerant", true);
        deps.denied = true;
        let reply = handle("/healthcheck", &names, &deps, &me).await;
        assert!(
            matches!(reply, Reply::Json { status: 503, .. }),
            "{reply:?}"
        );
        // And a deep check fails on a throttled table.
        let (deps, names, me) = faulty("none", "deep", true, r#"{"throttle_rate": 1}"#);
        let reply = handle("/healthcheck", &names, &deps, &me).await;
        assert!(matches!(reply, Reply::Json { status: 503, .. }));
    }

    #[tokio::test]
    async fn without_parameters_every_request_gets_503_saying_so() {
        let (deps, names, me) =
            faulty("none", "shallow", true, r#"{"parameter_store_down": true}"#);
        for path in ["/", "/healthcheck"] {
            let Reply::Json { status, body } = handle(path, &names, &deps, &me).await else {
                panic!("aborted")
            };
            assert_eq!(status, 503);
            assert_eq!(body["error"], PARAMETERS_UNAVAILABLE);
            assert_eq!(body["code"], "InternalServerError");
        }
    }

    #[tokio::test]
    async fn unknown_path_is_404() {
        let (deps, names, me) = fake("none", "shallow", true);
        let reply = handle("/nope", &names, &deps, &me).await;
        assert!(matches!(reply, Reply::Json { status: 404, .. }));
    }
}
