//! Each stage of the demonstration really shows what it claims, on the local
//! cloud, driven by the shipped stage scripts. The stages build on each other,
//! so one test deploys once and runs them in order, checking each stage's
//! claims right after it ran (instead of one test per stage replaying every
//! earlier stage: 36 stage runs and 8 deployments for 8 stages).

mod common;

use common::*;
use resilient::events::{Event, EventKind, Sink};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

fn served_by(reqs: &[Request]) -> BTreeSet<String> {
    reqs.iter().filter_map(|r| r.instance.clone()).collect()
}

fn stage_1_healthy_answers_real_recommendations_from_every_instance(host: &mut resilient::Host) {
    let reqs = requests(host, 9);
    assert!(
        reqs.iter().all(|r| r.status == 200 && !r.fallback),
        "{reqs:?}"
    );
    assert_eq!(
        served_by(&reqs).len(),
        3,
        "round robin over 3 instances: {reqs:?}"
    );
    assert!(
        reqs.iter()
            .all(|r| r.az.as_deref().is_some_and(|az| az.starts_with("local-1")))
    );
    let t = targets(host);
    assert_eq!(t.len(), 3);
    assert!(
        t.iter().all(|t| t.state == "healthy" && t.reason.is_none()),
        "{t:?}"
    );
    let azs: BTreeSet<String> = instances(host).into_iter().map(|i| i.az).collect();
    assert_eq!(azs.len(), 3, "spread over three zones");
}

fn stage_2_broken_dependency_fails_with_502_while_targets_stay_healthy(host: &mut resilient::Host) {
    let reqs = requests(host, 6);
    assert!(reqs.iter().all(|r| r.status == 502), "{reqs:?}");
    let t = targets(host);
    assert!(
        t.len() == 3 && t.iter().all(|t| t.state == "healthy"),
        "{t:?}"
    );
}

fn stage_3_static_fallback_answers_200_with_the_fallback(host: &mut resilient::Host) {
    let reqs = requests(host, 6);
    assert!(
        reqs.iter().all(|r| r.status == 200 && r.fallback),
        "{reqs:?}"
    );
    let t = targets(host);
    assert!(
        t.len() == 3 && t.iter().all(|t| t.state == "healthy"),
        "{t:?}"
    );
}

fn stage_4_bad_credentials_mix_real_and_fallback_answers(host: &mut resilient::Host, victim: &str) {
    let reqs = requests(host, 12);
    assert!(reqs.iter().all(|r| r.status == 200), "{reqs:?}");
    let fallbacks: Vec<_> = reqs.iter().filter(|r| r.fallback).collect();
    let real: Vec<_> = reqs.iter().filter(|r| !r.fallback).collect();
    assert!(!fallbacks.is_empty() && !real.is_empty(), "{reqs:?}");
    assert!(
        fallbacks
            .iter()
            .all(|r| r.instance.as_deref() == Some(victim)),
        "only the bad instance falls back: {reqs:?}"
    );
    assert!(real.iter().all(|r| r.instance.as_deref() != Some(victim)));
    let bad = instances(host)
        .into_iter()
        .find(|i| i.id == victim)
        .expect("victim still in the group");
    assert!(bad.profile.ends_with("-bc-prof"), "{bad:?}");
}

fn stage_5_deep_checks_mark_exactly_the_bad_instance_unhealthy(
    host: &mut resilient::Host,
    victim: &str,
) {
    let t = targets(host);
    assert_eq!(t.len(), 3);
    for target in &t {
        if target.id == victim {
            assert_eq!(target.state, "unhealthy");
            assert_eq!(
                target.reason.as_deref(),
                Some("Target.ResponseCodeMismatch")
            );
            assert!(target.description.as_deref().unwrap().contains("503"));
        } else {
            assert_eq!(target.state, "healthy", "{t:?}");
        }
    }
    let reqs = requests(host, 12);
    assert!(
        reqs.iter().all(|r| r.status == 200 && !r.fallback),
        "{reqs:?}"
    );
    assert!(!served_by(&reqs).contains(victim));
}

fn stage_6_replacing_the_instance_returns_to_three_healthy_targets(
    host: &mut resilient::Host,
    victim: &str,
) {
    let t = targets(host);
    let healthy: Vec<_> = t.iter().filter(|t| t.state == "healthy").collect();
    assert_eq!(healthy.len(), 3, "{t:?}");
    assert!(healthy.iter().all(|t| t.id != victim));
    let running: Vec<_> = instances(host)
        .into_iter()
        .filter(|i| i.state == "running")
        .collect();
    assert_eq!(running.len(), 3);
    assert!(running.iter().all(|i| i.id != victim
        && i.profile.ends_with("-prof")
        && !i.profile.ends_with("-bc-prof")));
    let reqs = requests(host, 9);
    assert!(
        reqs.iter().all(|r| r.status == 200 && !r.fallback),
        "{reqs:?}"
    );
}

fn stage_7_all_unhealthy_yet_the_load_balancer_fails_open(host: &mut resilient::Host) {
    let t = targets(host);
    assert!(
        t.len() == 3 && t.iter().all(|t| t.state == "unhealthy"),
        "{t:?}"
    );
    let reqs = requests(host, 9);
    assert!(
        reqs.iter().all(|r| r.status == 200 && r.fallback),
        "{reqs:?}"
    );
    assert_eq!(
        served_by(&reqs).len(),
        3,
        "fail open routes to every target"
    );
}

/// Stage 8: the good release v2 replaced every instance (none of the
/// instances from before the stage runs), customers get v2 only; the bad
/// release v3's refresh went Successful → (next refresh) InProgress →
/// RollbackInProgress → RollbackSuccessful, as the journal's refresh events
/// show, and the group launches version 2 again.
fn stage_8_a_good_release_rolls_out_and_a_bad_one_rolls_back(
    host: &mut resilient::Host,
    before: &[String],
    refreshes: &Refreshes,
) {
    let reqs = requests(host, 9);
    assert!(
        reqs.iter()
            .all(|r| r.status == 200 && r.version.as_deref() == Some("v2")),
        "{reqs:?}"
    );
    let running: Vec<Instance> = instances(host)
        .into_iter()
        .filter(|i| i.state == "running")
        .collect();
    assert_eq!(running.len(), 3, "{running:?}");
    assert!(
        running
            .iter()
            .all(|i| i.version == Some(2) && !before.contains(&i.id)),
        "every instance replaced by one of version 2: {running:?} (before: {before:?})"
    );
    let seen = refreshes.statuses();
    let successful = seen.iter().position(|s| s == "Successful");
    let rollback = seen.iter().position(|s| s == "RollbackInProgress");
    let rolled_back = seen.iter().position(|s| s == "RollbackSuccessful");
    assert!(
        successful.is_some() && successful < rollback && rollback < rolled_back,
        "{seen:?}"
    );
    let versions = eval(host, "inspect::versions()");
    let versions: rhai::Map = versions.cast();
    assert_eq!(versions["group"].as_int().unwrap(), 2);
    let last = eval(host, "inspect::roll_out()");
    let last: rhai::Map = last.cast();
    assert_eq!(
        last["status"].clone().into_string().unwrap(),
        "RollbackSuccessful"
    );
    assert_eq!(last["version"].as_int().unwrap(), 3);
}

/// The statuses of every instance refresh event, in order.
#[derive(Default)]
struct Refreshes(Mutex<Vec<String>>);

impl Refreshes {
    fn statuses(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Sink for Refreshes {
    fn event(&self, event: &Event) {
        if let EventKind::Refresh { status, .. } = &event.kind {
            self.0.lock().unwrap().push(status.to_string());
        }
    }
}

#[test]
fn the_demo_stages_each_show_what_they_claim() {
    let mut host = host();
    let refreshes = Arc::new(Refreshes::default());
    host.add_sink(refreshes.clone());
    let host = &mut host;
    run_stage(host, 1);
    stage_1_healthy_answers_real_recommendations_from_every_instance(host);
    run_stage(host, 2);
    stage_2_broken_dependency_fails_with_502_while_targets_stay_healthy(host);
    run_stage(host, 3);
    stage_3_static_fallback_answers_200_with_the_fallback(host);
    let victim = run_stage(host, 4).expect("victim id");
    stage_4_bad_credentials_mix_real_and_fallback_answers(host, &victim);
    run_stage(host, 5);
    stage_5_deep_checks_mark_exactly_the_bad_instance_unhealthy(host, &victim);
    run_stage(host, 6);
    stage_6_replacing_the_instance_returns_to_three_healthy_targets(host, &victim);
    run_stage(host, 7);
    stage_7_all_unhealthy_yet_the_load_balancer_fails_open(host);
    let before: Vec<String> = instances(host).into_iter().map(|i| i.id).collect();
    run_stage(host, 8);
    stage_8_a_good_release_rolls_out_and_a_bad_one_rolls_back(host, &before, &refreshes);
}

/// The checks a session records: (name, passed), in order.
#[derive(Default)]
struct Checks(Mutex<Vec<(String, bool)>>);

impl Sink for Checks {
    fn event(&self, event: &Event) {
        if let EventKind::Check { name, passed, .. } = &event.kind {
            self.0.lock().unwrap().push((name.clone(), *passed));
        }
    }
}

impl Checks {
    /// The checks recorded since the last call.
    fn take(&self) -> Vec<(String, bool)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Whether the check named `name` is among `checks` and held.
fn held(checks: &[(String, bool)], name: &str) -> bool {
    checks
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {checks:?}"))
        .1
}

/// The stages' checks are computed from what they observe: on a healthy
/// service the claims of the stages with a fault fail; with the static
/// fallback undone, fail open's "every customer gets 200" fails while its
/// "every target is unhealthy" holds; and then stage 1's claims fail.
#[test]
fn a_stage_claim_fails_when_what_it_claims_is_not_so() {
    let mut host = host();
    let checks = Arc::new(Checks::default());
    host.add_sink(checks.clone());
    let claims = "import \"../scripts/lib/claims\" as claims;\n";
    run(
        &mut host,
        &format!("{claims}deploy::all(); claims::healthy();"),
    );
    let healthy = checks.take();
    assert!(healthy.iter().all(|c| c.1), "{healthy:?}");

    run(&mut host, &format!("{claims}claims::broken_dependency();"));
    let c = checks.take();
    assert!(!held(&c, "stage 2: every customer gets 502"), "{c:?}");
    assert!(held(&c, "stage 2: every target stays healthy"), "{c:?}");

    run(&mut host, &format!("{claims}claims::static_fallback();"));
    let c = checks.take();
    assert!(!held(&c, "stage 3: every answer is the fallback"), "{c:?}");

    let victim = instances(&mut host)[0].id.clone();
    run(
        &mut host,
        &format!("{claims}claims::deep_health_checks(\"{victim}\");"),
    );
    let c = checks.take();
    assert!(
        !held(&c, &format!("stage 5: {victim} is unhealthy")),
        "{c:?}"
    );
    assert!(!held(&c, "stage 5: because its health check answers 503"));
    assert!(!held(&c, &format!("stage 5: {victim} serves nobody")));

    // Nothing replaced, nothing to mix: stages 4 and 6 see it.
    run(
        &mut host,
        &format!(
            "{claims}claims::bad_credentials(\"{victim}\");
             claims::replace_instance(\"{victim}\", inspect::targets().map(|t| t.id));"
        ),
    );
    let c = checks.take();
    assert!(!held(&c, "stage 4: answers mix real and fallback"), "{c:?}");
    assert!(!held(&c, "stage 6: a new target is healthy"), "{c:?}");
    assert!(!held(&c, &format!("stage 6: {victim} is gone")), "{c:?}");
    assert!(held(&c, "stage 6: every customer gets 200"), "{c:?}");

    // Fail open with the fix of stage 3 undone: every target unhealthy,
    // and customers get 502.
    run(
        &mut host,
        &format!(
            "{claims}failure::health_check(\"deep\"); failure::bad_table();
             wait_until(|| inspect::targets().all(|t| t.state == \"unhealthy\"), 120_000);
             claims::fail_open();"
        ),
    );
    let c = checks.take();
    assert!(held(&c, "stage 7: every target is unhealthy"), "{c:?}");
    assert!(!held(&c, "stage 7: every customer gets 200"), "{c:?}");
    assert!(!held(&c, "stage 7: every answer is the fallback"), "{c:?}");
    // Stage 8's claims on what a refresh did not do: no refresh succeeded,
    // fewer healthy targets than the floor, no rollback; customers (502
    // now) are not answered 200 by v2.
    run(
        &mut host,
        &format!(
            "{claims}let seen = #{{ status: \"Failed\", percentage_complete: 33, min_healthy_targets: 1 }};
             let during = load::run(#{{ requests: 10 }});
             claims::good_release(during, during, seen, 66);
             claims::bad_release(during, #{{ status: \"Successful\", statuses: [\"InProgress\", \"Successful\"], max_percentage_complete: 100 }}, 2);"
        ),
    );
    let c = checks.take();
    assert!(!held(&c, "stage 8: the refresh succeeds"), "{c:?}");
    assert!(
        !held(&c, "stage 8: every request during it is answered 200"),
        "{c:?}"
    );
    assert!(
        !held(&c, "stage 8: during it, both v1 and v2 answer"),
        "{c:?}"
    );
    assert!(
        !held(&c, "stage 8: healthy targets never below 66 % of 3"),
        "{c:?}"
    );
    assert!(
        !held(&c, "stage 8: the bad release's refresh rolls back"),
        "{c:?}"
    );
    assert!(!held(&c, "stage 8: it failed on its first batch"), "{c:?}");
    assert!(
        !held(&c, "stage 8: the group launches the good version again"),
        "{c:?}"
    );
    run(&mut host, &format!("{claims}claims::healthy();"));
    let c = checks.take();
    assert!(!held(&c, "stage 1: every customer gets 200"), "{c:?}");
    assert!(!held(&c, "stage 1: every target is healthy"), "{c:?}");
}
