//! The rollback of injected faults: everything the `failure::` functions
//! break, put back as a healthy deployment has it. The script API's
//! `failure::reset()` and the end of a run that went badly both call it.

use crate::cloud::Cloud;
use crate::error::Result;

/// Reverts every injected failure: parameters back to healthy values, no
/// dependency latency or errors, every zone back, good credentials (with a
/// reboot) on any instance that had other ones.
pub async fn revert_all(c: &dyn Cloud) -> Result<()> {
    // Nothing deployed: nothing to revert (and nothing to create).
    let before = match c.parameters().await {
        Err(crate::Error::NotDeployed { .. }) => return Ok(()),
        other => other?,
    };
    // Parameters (the dependency fault among them) back to healthy values.
    let values = crate::cloud::ParameterValues::healthy(c.names());
    c.put_parameters(&values).await?;
    if before != values {
        crate::cloud::parameters_settled(c).await;
    }
    // Parameters alone may be deployed (no group yet): nothing else to revert.
    let instances = match c.instances().await {
        Err(crate::Error::NotDeployed { .. }) => return Ok(()),
        other => other?,
    };
    c.restore_azs().await?;
    let good = c.names().profile.clone();
    for i in instances {
        if i.profile != good && !i.state.leaving() {
            c.replace_instance_profile(&i.id, &good).await?;
            c.reboot_instance(&i.id).await?;
        }
    }
    Ok(())
}
