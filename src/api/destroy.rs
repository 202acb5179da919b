//! `destroy::` — tear everything down.

use rhai::plugin::*;

#[export_module]
pub mod api {
    use crate::api::{lift, session, to_script};
    use colored::Colorize;
    use rhai::Array;

    /// Deletes everything the deployment owns, in dependency order (load
    /// balancer, target group, group and its instances, launch template,
    /// profiles, roles, policies, table, parameters). Idempotent: with nothing
    /// deployed it deletes nothing. Returns the deleted `#{kind, name}` list.
    #[rhai_fn(return_raw, volatile)]
    pub fn all(ctx: NativeCallContext) -> Result<Array, Box<EvalAltResult>> {
        let s = session(&ctx)?;
        let cloud = lift(&ctx, s.cloud())?;
        let removed = lift(&ctx, s.block_on(async move { cloud.destroy().await }))?;
        for r in &removed {
            println!("  {} deleted {} {}", "✔".green(), r.kind, r.name);
        }
        if removed.is_empty() {
            println!("  nothing to delete");
        }
        Ok(to_script(&ctx, &removed)?.into_array().unwrap_or_default())
    }
}
