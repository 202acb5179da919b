//! A stand-in for EC2 Auto Scaling's instance refresh, which moto 5 does not
//! implement (`StartInstanceRefresh`, `DescribeInstanceRefreshes`,
//! `CancelInstanceRefresh`, `RollbackInstanceRefresh`): the AWS proxy answers
//! these four actions itself, with the documented awsQuery response shapes
//! and error codes, so the AWS backend's requests and its parsing of the
//! answers are tested. It is a scripted answer, not moto and not AWS: no
//! instance is replaced, and a refresh moves one step per
//! `DescribeInstanceRefreshes` call (Pending → InProgress 0 %, 33 %, 66 % →
//! Successful; a rollback goes RollbackInProgress → RollbackSuccessful, a
//! cancel Cancelling → Cancelled). As on AWS, whose API is eventually
//! consistent, a new refresh is not listed by the first two
//! `DescribeInstanceRefreshes` after it starts (the refreshes before it
//! are); `InstanceRefreshIds` and `MaxRecords` filter the list.
#![allow(dead_code)]

use std::collections::HashMap;

/// One scripted refresh.
#[derive(Clone, Debug)]
pub struct Scripted {
    /// Its id.
    pub id: String,
    /// The group.
    pub group: String,
    /// Its status, in AWS's words.
    pub status: &'static str,
    /// Percentage complete.
    pub percentage: u32,
    /// Instances to update.
    pub to_update: u32,
    /// The desired configuration's launch template and version.
    pub template: (String, String),
    /// The request's form parameters, as sent.
    pub request: Vec<(String, String)>,
    /// How many more `DescribeInstanceRefreshes` calls leave it out.
    pub unlisted: u32,
}

/// Every group's scripted refreshes, newest last.
#[derive(Default)]
pub struct Refreshes {
    by_group: HashMap<String, Vec<Scripted>>,
    started: u64,
    /// `DescribeInstanceRefreshes` answers that left a new refresh out.
    pub not_listed_yet: u64,
}

/// An awsQuery error: (status, code, message).
pub type Refusal = (u16, &'static str, String);

fn active(status: &str) -> bool {
    matches!(
        status,
        "Pending" | "InProgress" | "Cancelling" | "RollbackInProgress" | "Baking"
    )
}

fn wrap(action: &str, inner: &str, request_id: &str) -> String {
    format!(
        "<{action}Response xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">\n  <{action}Result>{inner}</{action}Result>\n  <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\n</{action}Response>\n"
    )
}

fn not_found(group: &str) -> Refusal {
    (
        400,
        "ActiveInstanceRefreshNotFound",
        format!("No in progress or pending Instance Refresh found for Auto Scaling group {group}"),
    )
}

impl Refreshes {
    /// Answers one of the four actions (`params`: the form body), or `None`
    /// for any other action.
    pub fn answer(
        &mut self,
        action: &str,
        params: &[(String, String)],
        request_id: &str,
    ) -> Option<Result<String, Refusal>> {
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let group = param("AutoScalingGroupName").unwrap_or_default();
        let list = self.by_group.entry(group.clone()).or_default();
        let current = list.iter_mut().rev().find(|r| active(r.status));
        Some(match action {
            "StartInstanceRefresh" => {
                if current.is_some() {
                    Err((
                        400,
                        "InstanceRefreshInProgress",
                        "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.".into(),
                    ))
                } else {
                    self.started += 1;
                    let id = format!("0a0b0c0d-0000-4000-8000-{:012x}", self.started);
                    let template = (
                        param("DesiredConfiguration.LaunchTemplate.LaunchTemplateName")
                            .unwrap_or_default(),
                        param("DesiredConfiguration.LaunchTemplate.Version").unwrap_or_default(),
                    );
                    let list = self.by_group.entry(group.clone()).or_default();
                    list.push(Scripted {
                        id: id.clone(),
                        group,
                        status: "Pending",
                        percentage: 0,
                        to_update: 3,
                        template,
                        request: params.to_vec(),
                        unlisted: 2,
                    });
                    Ok(wrap(
                        action,
                        &format!("<InstanceRefreshId>{id}</InstanceRefreshId>"),
                        request_id,
                    ))
                }
            }
            "CancelInstanceRefresh" | "RollbackInstanceRefresh" => match current {
                None => Err(not_found(&group)),
                Some(r) if r.status == "RollbackInProgress" || r.status == "Cancelling" => {
                    Err(not_found(&group))
                }
                Some(r) => {
                    r.status = if action == "CancelInstanceRefresh" {
                        "Cancelling"
                    } else {
                        "RollbackInProgress"
                    };
                    Ok(wrap(
                        action,
                        &format!("<InstanceRefreshId>{}</InstanceRefreshId>", r.id),
                        request_id,
                    ))
                }
            },
            "DescribeInstanceRefreshes" => {
                if let Some(r) = current
                    && r.unlisted == 0
                {
                    step(r);
                }
                let ids: Vec<String> = params
                    .iter()
                    .filter(|(k, _)| k.starts_with("InstanceRefreshIds.member."))
                    .map(|(_, v)| v.clone())
                    .collect();
                let max = param("MaxRecords")
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(50usize);
                let mut left_out = false;
                let listed: Vec<&Scripted> = list
                    .iter()
                    .rev()
                    .filter(|r| ids.is_empty() || ids.contains(&r.id))
                    .filter(|r| {
                        left_out |= r.unlisted > 0;
                        r.unlisted == 0
                    })
                    .take(max)
                    .collect();
                let members: String = listed
                    .into_iter()
                    .map(|r| {
                        format!(
                            "<member><InstanceRefreshId>{}</InstanceRefreshId><AutoScalingGroupName>{}</AutoScalingGroupName><Status>{}</Status><StatusReason>scripted by the test proxy</StatusReason><StartTime>2026-12-06T00:00:00Z</StartTime><PercentageComplete>{}</PercentageComplete><InstancesToUpdate>{}</InstancesToUpdate><DesiredConfiguration><LaunchTemplate><LaunchTemplateName>{}</LaunchTemplateName><Version>{}</Version></LaunchTemplate></DesiredConfiguration></member>",
                            r.id, r.group, r.status, r.percentage, r.to_update, r.template.0, r.template.1
                        )
                    })
                    .collect();
                if left_out {
                    self.not_listed_yet += 1;
                    for r in list.iter_mut() {
                        r.unlisted = r.unlisted.saturating_sub(1);
                    }
                }
                Ok(wrap(
                    action,
                    &format!("<InstanceRefreshes>{members}</InstanceRefreshes>"),
                    request_id,
                ))
            }
            _ => return None,
        })
    }

    /// Every refresh started for `group`, oldest first.
    pub fn of(&self, group: &str) -> Vec<Scripted> {
        self.by_group.get(group).cloned().unwrap_or_default()
    }
}

/// One scripted step of an active refresh.
fn step(r: &mut Scripted) {
    match r.status {
        "Pending" => r.status = "InProgress",
        "InProgress" if r.percentage >= 66 => {
            r.status = "Successful";
            r.percentage = 100;
            r.to_update = 0;
        }
        "InProgress" => {
            r.percentage += 33;
            r.to_update -= 1;
        }
        "Cancelling" => r.status = "Cancelled",
        "RollbackInProgress" => {
            r.status = "RollbackSuccessful";
            r.percentage = 0;
            r.to_update = 0;
        }
        _ => {}
    }
}
