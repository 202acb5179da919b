//! The target group's states, routing, health checks and draining.

use super::super::timing::Timing;
use super::*;

fn group() -> TargetGroup {
    let tg = TargetGroup::new(Timing::new(0.01));
    tg.set_in_use();
    tg.register("a", 1);
    tg.register("b", 2);
    tg
}

fn set(tg: &TargetGroup, id: &str, outcomes: &[Result<(), Failure>]) {
    let mut targets = tg.lock();
    let t = targets.iter_mut().find(|t| t.id == id).unwrap();
    for o in outcomes {
        t.record(o.clone());
    }
}

#[test]
fn thresholds_move_targets_between_states_with_aws_reasons() {
    let tg = group();
    assert_eq!(tg.health()[0].state, TargetState::Initial);
    assert_eq!(
        tg.health()[0].reason,
        Some(TargetReason::RegistrationInProgress),
        "no check has gone out yet"
    );
    tg.lock()[0].checked = true;
    assert_eq!(
        tg.health()[0].reason,
        Some(TargetReason::InitialHealthChecking)
    );
    set(&tg, "a", &[Err(Failure::Code(500))]);
    assert_eq!(
        tg.health()[0].state,
        TargetState::Initial,
        "one failure is not enough"
    );
    set(&tg, "a", &[Ok(())]);
    assert_eq!(
        tg.health()[0].state,
        TargetState::Healthy,
        "a new target needs one passing check"
    );
    assert_eq!(tg.health()[0].reason, None);
    set(&tg, "a", &[Err(Failure::Code(503))]);
    assert_eq!(
        tg.health()[0].state,
        TargetState::Healthy,
        "one failure is not enough"
    );
    set(&tg, "a", &[Err(Failure::Code(503))]);
    let h = &tg.health()[0];
    assert_eq!(h.state, TargetState::Unhealthy);
    assert_eq!(h.reason, Some(TargetReason::ResponseCodeMismatch));
    assert_eq!(
        h.description.as_deref(),
        Some("Health checks failed with these codes: [503]")
    );
    set(&tg, "a", &[Ok(())]);
    assert_eq!(
        tg.health()[0].state,
        TargetState::Unhealthy,
        "an unhealthy target needs the healthy threshold"
    );
    set(&tg, "a", &[Ok(())]);
    assert_eq!(tg.health()[0].state, TargetState::Healthy);
}

#[test]
fn routes_round_robin_over_healthy_and_fails_open_when_none_is() {
    let tg = group();
    set(&tg, "a", &[Ok(()), Ok(())]);
    let picks: Vec<_> = (0..4).map(|_| tg.pick().unwrap().id).collect();
    assert!(picks.iter().all(|p| p == "a"), "only the healthy one");
    set(&tg, "a", &[Err(Failure::Timeout), Err(Failure::Timeout)]);
    set(
        &tg,
        "b",
        &[Err(Failure::Connection), Err(Failure::Connection)],
    );
    let mut picks: Vec<_> = (0..4).map(|_| tg.pick().unwrap().id).collect();
    picks.sort();
    picks.dedup();
    assert_eq!(picks, vec!["a", "b"], "fail open over all targets");
    tg.deregister("a");
    tg.deregister("b");
    assert_eq!(tg.pick(), None, "draining targets get no new requests");
    assert!(tg.health().iter().all(|h| h.state == TargetState::Draining
        && h.reason == Some(TargetReason::DeregistrationInProgress)));
}

/// At time scale 1 the health checks take AWS's own time: a target
/// registered 2 s after the checks started waits for the next check
/// (registration in progress until then), turns healthy with it, and
/// once it answers 503 turns unhealthy after two more checks 10 s apart.
/// On tokio's paused clock: the checks' intervals and timeouts are tokio
/// timers, so the clock jumps from one to the next (the loopback answers
/// are ready at once) and the ~30 s of AWS time take a fraction of a second,
/// measured on the same clock.
#[tokio::test(start_paused = true)]
async fn at_time_scale_one_health_checks_take_aws_time() {
    use tokio::time::Instant;
    let timing = Timing::new(1.0);
    assert_eq!(timing.health_interval(), std::time::Duration::from_secs(10));
    assert_eq!(timing.health_timeout(), std::time::Duration::from_secs(5));
    assert_eq!(
        timing.deregistration_delay(),
        std::time::Duration::from_secs(30)
    );
    let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(200));
    let listener = crate::http::bind_loopback(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = CancellationToken::new();
    let answer = status.clone();
    tokio::spawn(crate::http::serve(listener, stop.clone(), move |_| {
        let code = answer.load(Ordering::SeqCst);
        async move { Ok(crate::http::response(code, "text/plain", "")) }
    }));
    let tg = std::sync::Arc::new(TargetGroup::new(timing));
    tg.set_in_use();
    let checker = tg.clone();
    let checks = stop.clone();
    tokio::spawn(async move { checker.run_health_checks(HttpClient::new(0), checks).await });
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    tg.register("a", port);
    let started = Instant::now();
    assert_eq!(
        tg.health()[0].reason,
        Some(TargetReason::RegistrationInProgress)
    );
    let wait_for = |state: TargetState| {
        let tg = tg.clone();
        async move {
            while tg.health()[0].state != state {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    wait_for(TargetState::Healthy).await;
    let to_healthy = started.elapsed().as_secs_f64();
    assert!(
        (7.0..10.5).contains(&to_healthy),
        "healthy after {to_healthy:.1} s"
    );
    status.store(503, Ordering::SeqCst);
    let failing = Instant::now();
    wait_for(TargetState::Unhealthy).await;
    let to_unhealthy = failing.elapsed().as_secs_f64();
    assert!(
        (10.0..21.0).contains(&to_unhealthy),
        "unhealthy after {to_unhealthy:.1} s"
    );
    stop.cancel();
}

/// Each health check has a connection of its own, closed after the
/// answer: a server that keeps connections open sees one connection per
/// check, each closed by the checker.
#[tokio::test]
async fn every_health_check_opens_and_closes_its_own_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = crate::http::bind_loopback(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let closed = std::sync::Arc::new(AtomicUsize::new(0));
    let (a, c) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let c = c.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                // Answer every request on this connection, keep it open.
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                            if stream.write_all(ok).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    let tg = std::sync::Arc::new(TargetGroup::new(Timing::new(0.005)));
    tg.set_in_use();
    tg.register("a", port);
    let stop = CancellationToken::new();
    let (checker, checks) = (tg.clone(), stop.clone());
    let client = tg.health_check_client();
    tokio::spawn(async move { checker.run_health_checks(client, checks).await });
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while closed.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.cancel();
    assert_eq!(tg.health()[0].state, TargetState::Healthy);
    let (accepted, closed) = (
        accepted.load(Ordering::SeqCst),
        closed.load(Ordering::SeqCst),
    );
    assert!(closed >= 4, "the checker closed {closed} connections");
    assert!(
        accepted <= closed + 1,
        "{accepted} connections for {closed} closed: connections were kept open"
    );
}

/// Once its deregistration delay is over, a draining target leaves the
/// listing (as DescribeTargetHealth without target ids shows it).
#[tokio::test]
async fn a_drained_target_leaves_the_listing_after_the_delay() {
    let tg = std::sync::Arc::new(TargetGroup::new(Timing::new(0.005)));
    tg.set_in_use();
    tg.register("a", 1);
    tg.register("b", 2);
    tg.deregister("a");
    assert_eq!(tg.health()[0].state, TargetState::Draining);
    let stop = CancellationToken::new();
    let (checker, checks) = (tg.clone(), stop.clone());
    let client = tg.health_check_client();
    tokio::spawn(async move { checker.run_health_checks(client, checks).await });
    // The delay is 150 ms here: still draining just after, gone after.
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert!(
        tg.health()
            .iter()
            .any(|h| h.id == "a" && h.state == TargetState::Draining)
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    stop.cancel();
    let ids: Vec<String> = tg.health().into_iter().map(|h| h.id).collect();
    assert_eq!(ids, vec!["b"]);
}

#[test]
fn not_in_use_is_unused() {
    let tg = TargetGroup::new(Timing::new(0.01));
    tg.register("a", 1);
    assert_eq!(tg.health()[0].state, TargetState::Unused);
}
