//! The local cloud's behaviour through the script API: lifecycle, clean
//! destroy, failures beyond the seven stages, and clear errors.

mod common;

use common::*;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn port_of(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

fn closed(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_err()
}

#[test]
fn destroy_leaves_nothing_no_port_no_task_and_is_idempotent() {
    let mut host = host();
    let endpoint = eval(&mut host, "deploy::all().endpoint")
        .into_string()
        .unwrap();
    let mut ports = vec![port_of(&endpoint)];
    ports.extend(targets(&mut host).iter().map(|t| t.port as u16));
    assert_eq!(ports.len(), 4);
    assert!(
        ports.iter().all(|p| !closed(*p)),
        "everything answers while deployed"
    );
    let resources: Vec<serde_json::Value> = from(eval(&mut host, "inspect::resources()"));
    assert!(resources.len() >= 15, "{resources:?}");

    let removed: Vec<serde_json::Value> = from(eval(&mut host, "destroy::all()"));
    assert_eq!(removed.len(), resources.len());
    let left: Vec<serde_json::Value> = from(eval(&mut host, "inspect::resources()"));
    assert!(left.is_empty(), "{left:?}");
    for p in &ports {
        assert!(closed(*p), "port {p} still open after destroy");
    }
    let metrics = host.session().runtime().metrics();
    eventually(
        "no background task survives destroy",
        Duration::from_secs(5),
        Duration::from_millis(50),
        || match metrics.num_alive_tasks() {
            0 => Ok(()),
            alive => Err(format!("{alive} tasks alive")),
        },
    );

    let again: Vec<serde_json::Value> = from(eval(&mut host, "destroy::all()"));
    assert!(again.is_empty(), "second destroy deletes nothing");
    // And the same session can deploy again.
    let reqs = {
        run(&mut host, "deploy::all()");
        requests(&mut host, 3)
    };
    assert!(reqs.iter().all(|r| r.status == 200));
}

#[test]
fn calls_before_deploy_name_what_is_missing() {
    let mut host = host();
    let e = eval_err(&mut host, "inspect::targets()");
    assert!(
        e.message.contains("target group") && e.message.contains("deploy::all()"),
        "{e}"
    );
    assert_eq!(e.line, Some(1));
    let e = eval_err(&mut host, "let x = 1;\nfailure::reboot(\"i-123\")");
    assert!(e.message.contains("Auto Scaling group"), "{e}");
    assert_eq!((e.line, e.column), (Some(2), Some(10)), "{e}");
    let e = eval_err(&mut host, "inspect::request()");
    assert!(e.message.contains("load balancer"), "{e}");
    let e = eval_err(&mut host, "deploy::launch_template()");
    assert!(
        e.message.contains("create launch template") && e.message.contains("instance profile"),
        "{e}"
    );
}

#[test]
fn bad_arguments_are_clear_errors_not_panics() {
    let mut host = host();
    run(&mut host, "deploy::all()");
    let e = eval_err(&mut host, "failure::terminate(\"i-nope\")");
    assert!(e.message.contains("unknown instance `i-nope`"), "{e}");
    let e = eval_err(&mut host, "failure::bad_credentials(\"i-nope\")");
    assert!(e.message.contains("i-nope"), "{e}");
    let e = eval_err(&mut host, "failure::health_check(\"medium\")");
    assert!(e.message.contains("deep"), "{e}");
    let e = eval_err(&mut host, "failure::error_rate(2.0)");
    assert!(e.message.contains("0.0..=1.0"), "{e}");
    let e = eval_err(&mut host, "failure::az_outage(\"mars-1a\")");
    assert!(
        e.message.contains("mars-1a") && e.message.contains("local-1a"),
        "{e}"
    );
    let e = eval_err(&mut host, "load::run(#{duration_ms: -5})");
    assert!(e.message.contains("duration_ms"), "{e}");
    let e = eval_err(&mut host, "deploy::configure(#{prefix: \"x\"})");
    assert!(
        e.message.contains("destroy::all()"),
        "settings are locked while deployed: {e}"
    );
    let e = eval_err(&mut host, "ui::choose(\"?\", [])");
    assert!(e.message.contains("at least one option"), "{e}");
}

#[test]
fn a_load_balancer_without_targets_answers_503() {
    let mut host = host();
    run(&mut host, "deploy::load_balancer()");
    let reqs = requests(&mut host, 2);
    assert!(reqs.iter().all(|r| r.status == 503), "{reqs:?}");
}

#[test]
fn reboot_takes_the_server_down_and_brings_it_back() {
    let mut host = host();
    run(&mut host, "deploy::all()");
    let t = &targets(&mut host)[0];
    let (id, port) = (t.id.clone(), t.port as u16);
    run(&mut host, &format!("failure::reboot(\"{id}\")"));
    // As on EC2: first the system is down and nothing answers (connections
    // time out), then it is up without its server (connections refused),
    // then the server is back. 20 + 10 s of cloud time: 1 + 0.5 s here.
    let (mut timed_out, mut refused) = (false, false);
    eventually(
        "the rebooted server answers after a silence and then refusals",
        Duration::from_secs(20),
        Duration::from_millis(20),
        || {
            let probe = TcpStream::connect_timeout(
                &([127, 0, 0, 1], port).into(),
                Duration::from_millis(100),
            );
            match probe {
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => timed_out = true,
                // Refused before it goes silent too: the server stops while
                // the system shuts down, as systemd stops services first.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused |= timed_out,
                // A connection waiting in the silent port's queue when the
                // port closes is reset: the silence has ended, refusals follow.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                Err(e) => panic!("unexpected connect error: {e}"),
                // The one connection the silent port's queue holds, before it
                // is full; and the server, once it is back.
                Ok(_) if refused => return Ok(()),
                Ok(_) => {}
            }
            Err((timed_out, refused))
        },
    );
    assert!(
        timed_out,
        "a rebooting instance must first not answer at all"
    );
    let i = instances(&mut host)
        .into_iter()
        .find(|i| i.id == id)
        .unwrap();
    assert_eq!(i.state, "running", "a reboot is not a replacement");
}

#[test]
fn losing_a_zone_moves_the_group_to_the_other_zones() {
    let mut host = host();
    run(&mut host, "deploy::all()");
    run(&mut host, r#"failure::az_outage("local-1a");"#);
    // EC2 reports an impaired instance at its next status check (60 s,
    // 3 s at this scale): until then the group keeps it.
    let outage = Instant::now();
    let lost: Vec<_> = instances(&mut host)
        .into_iter()
        .filter(|i| i.az == "local-1a")
        .collect();
    assert_eq!(lost.len(), 1, "one instance per zone before the outage");
    while outage.elapsed() < Duration::from_millis(1800) {
        let kept = instances(&mut host)
            .into_iter()
            .any(|i| i.id == lost[0].id && i.health == "Healthy" && i.state == "running");
        assert!(
            kept,
            "replaced {:?} after the outage: before EC2's status check",
            outage.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    run(
        &mut host,
        r#"wait_until(|| {
               let i = inspect::instances();
               i.filter(|x| x.state == "running" && x.az != "local-1a").len() == 3
                 && !i.some(|x| x.az == "local-1a")
           }, 900_000);
           deploy::wait_ready();"#,
    );
    let running: Vec<_> = instances(&mut host)
        .into_iter()
        .filter(|i| i.state == "running")
        .collect();
    assert_eq!(running.len(), 3);
    assert!(running.iter().all(|i| i.az != "local-1a"));
    let zones: std::collections::BTreeSet<_> = running.iter().map(|i| i.az.clone()).collect();
    assert_eq!(
        zones.len(),
        2,
        "spread over the two zones left: {running:?}"
    );
    let reqs = requests(&mut host, 6);
    assert!(reqs.iter().all(|r| r.status == 200), "{reqs:?}");

    // The zone comes back: the group rebalances by launching first (one
    // instance above the desired three at most) and terminating only once
    // the new one serves, so healthy targets never drop below three.
    run(&mut host, "failure::reset()");
    let (mut fewest_healthy, mut most_members) = (usize::MAX, 0);
    eventually(
        "one instance per zone, all three healthy targets",
        Duration::from_secs(40),
        Duration::from_millis(50),
        || {
            let healthy = targets(&mut host)
                .iter()
                .filter(|t| t.state == "healthy")
                .count();
            let members: Vec<_> = instances(&mut host)
                .into_iter()
                .filter(|i| i.state == "pending" || i.state == "running")
                .filter(|i| i.health == "Healthy")
                .collect();
            fewest_healthy = fewest_healthy.min(healthy);
            most_members = most_members.max(members.len());
            let zones: std::collections::BTreeSet<_> =
                members.iter().map(|i| i.az.clone()).collect();
            if zones.len() == 3 && members.len() == 3 && healthy == 3 {
                Ok(())
            } else {
                Err((zones, members.len(), healthy))
            }
        },
    );
    assert!(
        fewest_healthy >= 3,
        "healthy targets dropped to {fewest_healthy} while rebalancing"
    );
    assert_eq!(most_members, 4, "one instance above the desired count");
}

#[test]
fn dependency_latency_and_errors_reach_customers_and_reset_clears_them() {
    let mut host = host();
    run(&mut host, "deploy::all()");
    let slow: serde_json::Value = from(eval(
        &mut host,
        "failure::latency(150); load::run(#{requests: 12, concurrency: 3})",
    ));
    assert!(slow["p50_ms"].as_f64().unwrap() >= 150.0, "{slow}");
    let flaky: serde_json::Value = from(eval(
        &mut host,
        "failure::latency(0); failure::static_response(true); failure::error_rate(1.0);
         load::run(#{requests: 12, concurrency: 3})",
    ));
    assert_eq!(flaky["fallback"], 12, "{flaky}");
    assert_eq!(
        flaky["success_rate"], 1.0,
        "the fallback keeps customers served"
    );
    let calm: serde_json::Value = from(eval(
        &mut host,
        "failure::reset(); load::run(#{requests: 12, concurrency: 3})",
    ));
    assert_eq!(calm["fallback"], 0, "{calm}");
    assert!(calm["p50_ms"].as_f64().unwrap() < 150.0, "{calm}");
    let params: serde_json::Value = from(eval(&mut host, "inspect::parameters()"));
    assert_eq!(params["failure_response"], "none");
    assert_eq!(params["health_check"], "shallow");
}

#[test]
fn background_load_runs_beside_the_script_and_reports_what_customers_saw() {
    let mut host = host();
    run(&mut host, "deploy::all()");
    let stats: serde_json::Value = from(eval(
        &mut host,
        "let run = load::start(#{duration_ms: 800, rate: 200, concurrency: 4});
         for i in 0..5 { inspect::request(); }
         load::finish(run)",
    ));
    let count = stats["count"].as_u64().unwrap();
    assert!(
        (80..=200).contains(&count),
        "about 160 requests in 0.8 s: {stats}"
    );
    assert_eq!(stats["codes"]["200"].as_u64(), Some(count));
    assert_eq!(stats["instances"].as_object().unwrap().len(), 3, "{stats}");
    let d = stats["duration_ms"].as_f64().unwrap();
    assert!((700.0..3000.0).contains(&d), "ends by itself: {stats}");
    let stopped: serde_json::Value = from(eval(
        &mut host,
        "let run = load::start(#{duration_ms: 60000, rate: 50}); load::stop(run)",
    ));
    assert!(
        stopped["duration_ms"].as_f64().unwrap() < 2000.0,
        "stop ends it: {stopped}"
    );
}

#[test]
fn plan_lists_without_creating() {
    let mut host = host();
    let plan: Vec<serde_json::Value> = from(eval(&mut host, "deploy::plan()"));
    assert!(plan.iter().any(|r| r["kind"] == "load balancer"));
    assert_eq!(plan.iter().filter(|r| r["kind"] == "instance").count(), 3);
    let e = eval_err(&mut host, "inspect::endpoint()");
    assert!(e.message.contains("not deployed"), "{e}");
}

#[test]
fn a_terminated_instance_drains_first_so_requests_in_flight_complete() {
    let mut host = host();
    run(&mut host, "deploy::all(); failure::latency(300);");
    let victim = targets(&mut host)[0].id.clone();
    // Slow requests are in flight to every instance when the victim goes.
    let stats: serde_json::Value = resilient_eval_json(
        &mut host,
        &format!(
            r#"let load = load::start(#{{ concurrency: 6, duration_ms: 2500 }});
               wait_until(|| true, 1000);
               failure::terminate("{victim}");
               let t = inspect::targets().filter(|t| t.id == "{victim}")[0];
               let i = inspect::instances().filter(|i| i.id == "{victim}")[0];
               let stats = load::finish(load);
               #{{ target: t.state, instance: i.state, codes: stats.codes, ok: stats.ok, count: stats.count }}"#
        ),
    );
    assert_eq!(stats["target"], "draining", "{stats}");
    assert_eq!(
        stats["instance"], "running",
        "it serves what it has: {stats}"
    );
    assert_eq!(
        stats["ok"], stats["count"],
        "no request was cut off: {stats}"
    );
    run(
        &mut host,
        &format!(
            r#"wait_until(|| !inspect::instances().some(|i| i.id == "{victim}" && i.state == "running"), 300_000);"#
        ),
    );
}

fn resilient_eval_json(host: &mut resilient::Host, code: &str) -> serde_json::Value {
    common::from(common::eval(host, code))
}

/// The local instance refresh as AWS's API has it: nothing to describe
/// before the first; one at a time (`InstanceRefreshInProgress`); a cancel
/// goes Cancelling → Cancelled and leaves instances replaced so far;
/// cancel and rollback without an active refresh are
/// `ActiveInstanceRefreshNotFound`; preferences outside AWS's ranges and
/// unknown versions are refused before anything starts.
#[test]
fn the_local_refresh_refuses_a_second_one_and_cancels() {
    let mut host = host();
    run(&mut host, "deploy::all();");
    assert!(eval(&mut host, "inspect::roll_out()").is_unit());
    for (bad, says) in [
        (
            "deploy::roll_out(#{ version: 9 })",
            "version 9 does not exist",
        ),
        (
            "deploy::roll_out(#{ min_healthy_percentage: 120 })",
            "0..=100",
        ),
        (
            "deploy::roll_out(#{ max_healthy_percentage: 250 })",
            "100..=200",
        ),
        (
            "deploy::roll_out(#{ checkpoints: [50, 20] })",
            "ascending percentages",
        ),
        ("deploy::roll_out(#{ warm: 1 })", "unknown option `warm`"),
    ] {
        let e = eval_err(&mut host, bad);
        assert!(e.message.contains(says), "{bad}: {e}");
    }
    let v = eval(&mut host, "deploy::new_version(#{})")
        .as_int()
        .unwrap();
    assert_eq!(v, 2);
    run(
        &mut host,
        "deploy::roll_out(#{ min_healthy_percentage: 100, warmup_s: 0 });",
    );
    let e = eval_err(&mut host, "deploy::roll_out(#{})");
    assert!(e.message.contains("InstanceRefreshInProgress"), "{e}");
    run(&mut host, "deploy::cancel_roll_out();");
    let now: serde_json::Value = from(eval(&mut host, "inspect::roll_out()"));
    assert!(
        now["status"] == "Cancelling" || now["status"] == "Cancelled",
        "{now}"
    );
    let end: serde_json::Value = from(eval(&mut host, "deploy::wait_roll_out(600_000)"));
    assert_eq!(end["status"], "Cancelled", "{end}");
    for call in ["deploy::cancel_roll_out()", "deploy::roll_back()"] {
        let e = eval_err(&mut host, call);
        assert!(
            e.message.contains("ActiveInstanceRefreshNotFound"),
            "{call}: {e}"
        );
    }
    // The group launches the new version from the refresh's start on.
    let versions: serde_json::Value = from(eval(&mut host, "inspect::versions()"));
    assert_eq!(versions["group"], 2, "{versions}");
    assert_eq!(versions["all"][1]["label"], "v2", "{versions}");
}
