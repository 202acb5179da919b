//! `destroy::` — tear everything down.

use rhai::plugin::*;

#[export_module]
pub mod api {
    use crate::api::{fail, lift, session, to_script};
    use crate::events::EventKind;
    use rhai::Array;

    /// Deletes everything the deployment owns, in dependency order (the
    /// port-80 rule first, then load balancer, group and its instances,
    /// target group, launch template, profiles, roles, policies, table,
    /// parameters, security groups). Only resources tagged with this
    /// deployment's prefix are touched: one with our name but not our tag is
    /// listed as skipped. Every step is tried even when one fails; then an
    /// error lists what is left and why, and running it again finishes the
    /// job. Idempotent: with nothing deployed it deletes nothing. Returns the
    /// deleted `#{kind, name}` list.
    #[rhai_fn(return_raw, volatile)]
    pub(crate) fn all(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let cloud = lift(&ctx, s.cloud())?;
        // On AWS this waits for the instances to terminate (minutes): a
        // spinner at a terminal says so.
        let waiting = crate::events::Waiting::start(s.bus(), "deleting the deployment");
        let teardown = s.block_on(async move { cloud.destroy().await });
        waiting.end(teardown.as_ref().is_ok_and(|t| t.failed.is_empty()));
        let teardown = lift(&ctx, teardown)?;
        // Faults die with the deployment.
        s.ledger().clear();
        for r in &teardown.deleted {
            s.publish(EventKind::Deleted {
                kind: r.kind,
                name: r.name.clone(),
            });
        }
        for r in &teardown.skipped {
            s.publish(EventKind::Skipped {
                kind: r.kind,
                name: r.name.clone(),
                reason: r.reason.clone(),
            });
        }
        for r in &teardown.failed {
            s.publish(EventKind::Left {
                kind: r.kind,
                name: r.name.clone(),
                reason: r.reason.clone(),
            });
        }
        if teardown.deleted.is_empty() && teardown.failed.is_empty() {
            s.publish(EventKind::Text {
                style: crate::events::Style::Say,
                text: "  nothing to delete".into(),
            });
        }
        if !teardown.complete() {
            let left: Vec<String> = teardown
                .failed
                .iter()
                .map(|l| format!("{} {}: {}", l.kind, l.name, l.reason))
                .collect();
            return Err(fail(
                &ctx,
                format!(
                    "destroy left {} resource(s) behind (run it again to finish): {}",
                    left.len(),
                    left.join("; ")
                ),
            ));
        }
        Ok(to_script(&ctx, &teardown.deleted)?
            .into_array()
            .unwrap_or_default())
    }
}
