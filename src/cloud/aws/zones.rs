//! Which Availability Zones the deployment uses: up to three zones that have
//! a default subnet *and* offer the instance type. Not every zone offers
//! every type (one us-east-1 zone has no t3.micro): a group told to launch
//! there fails only when it launches, long after everything else exists.

use super::ec2::filter;
use super::{Clients, fail};
use crate::error::{Error, Result};
use aws_sdk_ec2::types::LocationType;
use std::collections::BTreeSet;

/// The instance type of the launch template.
pub(crate) const INSTANCE_TYPE: &str = "t3.micro";

/// At most this many zones are used.
pub(crate) const MAX_ZONES: usize = 3;

/// An Application Load Balancer needs subnets in at least this many zones.
pub(crate) const MIN_ZONES: usize = 2;

/// The zones of the client's region that offer `instance_type`.
pub async fn offering(c: &Clients, instance_type: &str) -> Result<BTreeSet<String>> {
    let mut zones = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .ec2
            .describe_instance_type_offerings()
            .location_type(LocationType::AvailabilityZone)
            .filters(filter("instance-type", instance_type))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| fail("find the zones offering", instance_type, e))?;
        zones.extend(
            out.instance_type_offerings()
                .iter()
                .filter_map(|o| o.location().map(str::to_string)),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(zones),
        }
    }
}

/// Chooses up to [`MAX_ZONES`] of the default subnets `(zone, subnet)`, one
/// per zone, in zone order, among the zones in `offered`; fewer than
/// [`MIN_ZONES`] is an error sentence saying what to do.
pub(crate) fn choose(
    subnets: &[(String, String)],
    offered: &BTreeSet<String>,
    region: &str,
    instance_type: &str,
) -> Result<Vec<(String, String)>> {
    let mut subnets = subnets.to_vec();
    subnets.sort();
    subnets.dedup_by(|a, b| a.0 == b.0);
    let (usable, lacking): (Vec<_>, Vec<_>) =
        subnets.into_iter().partition(|(z, _)| offered.contains(z));
    if usable.len() < MIN_ZONES {
        let names = |list: &[(String, String)]| {
            list.iter()
                .map(|(z, _)| z.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let found = match usable.len() {
            0 => format!("no zone with a default subnet in {region} offers {instance_type}"),
            _ => format!(
                "only {}, of the zones with a default subnet in {region}, offers {instance_type}",
                names(&usable)
            ),
        };
        let without = match lacking.len() {
            0 => String::new(),
            1 => format!(" ({} has one but no {instance_type})", names(&lacking)),
            _ => format!(" ({} have one but no {instance_type})", names(&lacking)),
        };
        return Err(Error::Setup(format!(
            "{found}{without}, and the load balancer needs {MIN_ZONES}: create a default subnet in another zone that offers it (`aws ec2 create-default-subnet --availability-zone ZONE`) or choose another --region"
        )));
    }
    Ok(usable.into_iter().take(MAX_ZONES).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnets(zones: &[&str]) -> Vec<(String, String)> {
        zones
            .iter()
            .map(|z| (z.to_string(), format!("subnet-{z}")))
            .collect()
    }

    fn set(zones: &[&str]) -> BTreeSet<String> {
        zones.iter().map(|z| z.to_string()).collect()
    }

    fn zones(chosen: &[(String, String)]) -> Vec<&str> {
        chosen.iter().map(|(z, _)| z.as_str()).collect()
    }

    #[test]
    fn the_zones_are_chosen_for_the_launch_templates_instance_type() {
        assert_eq!(
            aws_sdk_ec2::types::InstanceType::T3Micro.as_str(),
            INSTANCE_TYPE
        );
    }

    #[test]
    fn takes_up_to_three_zones_in_order_among_those_that_offer_the_type() {
        // us-east-1 as it is: six default subnets, us-east-1e without t3.micro.
        let all = subnets(&["us-east-1f", "us-east-1a", "us-east-1e", "us-east-1b"]);
        let offered = set(&["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1f"]);
        let chosen = choose(&all, &offered, "us-east-1", INSTANCE_TYPE).unwrap();
        assert_eq!(zones(&chosen), ["us-east-1a", "us-east-1b", "us-east-1f"]);
        assert_eq!(chosen[0].1, "subnet-us-east-1a");
        // The zone without the type is never chosen, even when it would be
        // among the first three by name.
        let offered = set(&["us-east-1a", "us-east-1d", "us-east-1f"]);
        let all = subnets(&["us-east-1d", "us-east-1e", "us-east-1f"]);
        let chosen = choose(&all, &offered, "us-east-1", INSTANCE_TYPE).unwrap();
        assert_eq!(zones(&chosen), ["us-east-1d", "us-east-1f"]);
    }

    #[test]
    fn two_zones_are_enough_and_one_is_a_sentence_naming_what_to_do() {
        let offered = set(&["us-east-1d", "us-east-1f"]);
        let chosen = choose(
            &subnets(&["us-east-1d", "us-east-1e", "us-east-1f"]),
            &offered,
            "us-east-1",
            INSTANCE_TYPE,
        )
        .unwrap();
        assert_eq!(zones(&chosen), ["us-east-1d", "us-east-1f"]);
        let e = choose(
            &subnets(&["us-east-1e", "us-east-1f"]),
            &offered,
            "us-east-1",
            INSTANCE_TYPE,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "only us-east-1f, of the zones with a default subnet in us-east-1, offers t3.micro (us-east-1e has one but no t3.micro), and the load balancer needs 2: create a default subnet in another zone that offers it (`aws ec2 create-default-subnet --availability-zone ZONE`) or choose another --region"
        );
        let e = choose(&[], &offered, "eu-west-1", INSTANCE_TYPE)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("no zone with a default subnet in eu-west-1 offers t3.micro, and"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }
}
