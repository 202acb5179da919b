//! The preflight on AWS and the IAM policy the tool ships
//! (`docs/aws-policy.json`), against moto server.
//!
//! moto enforces IAM when started with `INITIAL_NO_AUTH_ACTION_COUNT=N`:
//! after N calls every request must be signed with an IAM user's access key,
//! and moto checks the request's action against that user's policies. What
//! that proves, and what it cannot (moto 5.2, `moto/iam/access_control.py`
//! and `moto/core/responses.py`):
//!
//! - Proven: every action deploy, the faults, inspect, destroy and the
//!   preflight call *directly* is in the policy, under the name IAM uses
//!   (`service:Action`, the service being the signing name, e.g.
//!   `elasticloadbalancing`): a user holding exactly the policy deploys,
//!   injects and reverts every fault, and destroys everything; a user lacking
//!   one action is stopped with one sentence naming it.
//! - Not proven: **resources** (moto authorizes every request against `*`,
//!   except IAM calls naming an existing role, so a policy scoped to our ARNs
//!   would be refused by moto for reasons AWS would not have: the test gives
//!   moto the policy with every `Resource` widened to `*`); **conditions**
//!   (moto has no request context, so `aws:RequestTag`, `aws:ResourceTag`,
//!   `ec2:CreateAction`, `iam:PassedToService`, … always hold); the
//!   **authorizations AWS adds to a call** (tag-on-create: `ec2:CreateTags`,
//!   `elasticloadbalancing:AddTags`, `iam:TagRole`, `ssm:AddTagsToResource`,
//!   `dynamodb:TagResource`, `autoscaling:CreateOrUpdateTags`; `iam:PassRole`
//!   for the launch template's profile and `AddRoleToInstanceProfile`;
//!   `ec2:RunInstances` when the group launches; `iam:CreateServiceLinkedRole`
//!   on first use): moto never checks them, so removing one from the policy
//!   goes unnoticed here; and `iam:SimulatePrincipalPolicy`, which moto does
//!   not implement (it answers 500), so the preflight's permissions check is
//!   skipped against moto and says so.
//! - moto's own SigV4 check is turned off here ([`SITECUSTOMIZE`]): it
//!   rebuilds form-encoded bodies with Python's encoding and refuses the
//!   Rust SDK's valid signatures of values holding a space.
//! - The resources, conditions and added authorizations are checked instead
//!   by a unit test (`cloud::aws::preflight`): a small evaluator of the
//!   shipped policy allows every call of the preflight's simulation plan, on
//!   our real names and in the context AWS authorizes it in, and refuses
//!   them for another prefix, another service to pass a role to, another
//!   policy to attach. That plan is what `iam:SimulatePrincipalPolicy` is
//!   asked on AWS.

mod common;

use common::moto::Moto;
use common::{eval, eval_err, from, run};
use resilient::cloud::preflight::{Outcome, Preflight};
use resilient::internals::aws::Clients;
use resilient::internals::aws::connect;
use resilient::internals::aws::policy_document;
use resilient::settings::AwsSettings;
use resilient::{Host, HostOptions};
use std::future::Future;

fn block<T>(host: &Host, f: impl Future<Output = T>) -> T {
    host.session().runtime().block_on(f)
}

/// The calls the set-up below makes before moto starts enforcing IAM.
const FREE_CALLS: usize = 8;

/// A moto that enforces IAM, a deployer holding the shipped policy (edited
/// by `edit`), and an auditor who may do everything (to look for leftovers).
struct Enforced {
    moto: Moto,
    deployer: (String, String),
    auditor: Clients,
    runtime: tokio::runtime::Runtime,
    _site: tempfile::TempDir,
}

/// Python start-up code for moto that turns off its SigV4 check (and only
/// that: callers are still identified by their access key and authorized by
/// their policies). moto checks a form-encoded request's signature against
/// a body it rebuilds from the parsed fields, encoding a space as `+`, where
/// the AWS SDK for Rust sends `%20`: every query-protocol call with a space
/// in a value (our security groups' descriptions) would fail that check.
const SITECUSTOMIZE: &str = "\
try:
    from moto.iam import access_control
    access_control.IAMRequestBase.check_signature = lambda self: None
except Exception:
    pass
";

/// The shipped policy as moto can evaluate it: every `Resource` widened to
/// `*` (moto authorizes almost every request against `*`); actions and
/// conditions as shipped.
fn moto_view(policy: &str) -> serde_json::Value {
    let mut policy: serde_json::Value = serde_json::from_str(policy).unwrap();
    for s in policy["Statement"].as_array_mut().unwrap() {
        s["Resource"] = "*".into();
    }
    policy
}

/// The policy without `action`.
fn without(mut policy: serde_json::Value, action: &str) -> serde_json::Value {
    let statements = policy["Statement"].as_array_mut().unwrap();
    let mut found = false;
    for s in statements.iter_mut() {
        let actions: Vec<serde_json::Value> = match &s["Action"] {
            serde_json::Value::String(a) => vec![a.clone().into()],
            other => other.as_array().unwrap().clone(),
        };
        let kept: Vec<serde_json::Value> = actions.into_iter().filter(|a| a != action).collect();
        found |= kept.len() != s["Action"].as_array().map_or(1, Vec::len);
        s["Action"] = kept.into();
    }
    statements.retain(|s| !s["Action"].as_array().unwrap().is_empty());
    assert!(found, "{action} is not in the policy");
    policy
}

fn aws(moto: &Moto, keys: Option<(String, String)>) -> AwsSettings {
    let mut settings = moto.aws();
    if let Some(keys) = keys {
        settings.credentials = Some(keys);
    }
    settings
}

impl Enforced {
    fn start(prefix: &str, edit: impl FnOnce(serde_json::Value) -> serde_json::Value) -> Self {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("sitecustomize.py"), SITECUSTOMIZE).unwrap();
        let moto = Moto::start_with_env(&[
            ("INITIAL_NO_AUTH_ACTION_COUNT", &FREE_CALLS.to_string()),
            ("PYTHONPATH", site.path().to_str().unwrap()),
        ]);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let rt = &runtime;
        // 1: who moto's default credentials are.
        let admin = rt.block_on(connect(&moto.aws())).expect("connect to moto");
        let policy = edit(moto_view(&policy_document(
            &admin.partition,
            &admin.account,
            &admin.region,
            prefix,
        )));
        let iam = &admin.iam;
        let key = |user: &str| {
            let out = rt
                .block_on(iam.create_access_key().user_name(user).send())
                .unwrap();
            let k = out.access_key().unwrap();
            (
                k.access_key_id().to_string(),
                k.secret_access_key().to_string(),
            )
        };
        // 2–5: the deployer, holding exactly the policy.
        let arn = rt
            .block_on(
                iam.create_policy()
                    .policy_name("resilient-deployer")
                    .policy_document(policy.to_string())
                    .send(),
            )
            .unwrap()
            .policy()
            .and_then(|p| p.arn())
            .unwrap()
            .to_string();
        rt.block_on(iam.create_user().user_name("deployer").send())
            .unwrap();
        rt.block_on(
            iam.attach_user_policy()
                .user_name("deployer")
                .policy_arn(arn)
                .send(),
        )
        .unwrap();
        let deployer = key("deployer");
        // 6–8: the auditor, who may do everything.
        rt.block_on(iam.create_user().user_name("auditor").send())
            .unwrap();
        rt.block_on(
            iam.put_user_policy()
                .user_name("auditor")
                .policy_name("everything")
                .policy_document(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                )
                .send(),
        )
        .unwrap();
        let auditor = key("auditor");
        // From here on moto enforces IAM: the default credentials are refused.
        let refused = rt.block_on(admin.ec2.describe_vpcs().send());
        assert!(
            refused.is_err(),
            "moto enforces IAM after exactly {FREE_CALLS} calls"
        );
        let auditor = rt
            .block_on(connect(&aws(&moto, Some(auditor))))
            .expect("the auditor connects");
        Enforced {
            moto,
            deployer,
            auditor,
            runtime,
            _site: site,
        }
    }

    /// A batch host on AWS (moto) with the deployer's credentials.
    fn deployer(&self, prefix: &str) -> Host {
        let mut settings = self.moto.settings(prefix);
        settings.aws = aws(&self.moto, Some(self.deployer.clone()));
        Host::new(HostOptions {
            settings,
            batch: true,
            ..Default::default()
        })
        .expect("host")
    }

    /// Everything left whose name starts with the prefix.
    fn leftovers(&self, prefix: &str) -> Vec<String> {
        self.runtime
            .block_on(common::sweep::leftovers(&self.auditor, prefix))
    }
}

fn preflight(host: &Host) -> Preflight {
    let cloud = host.session().cloud().expect("connect");
    block(host, cloud.preflight()).expect("preflight")
}

fn check<'a>(report: &'a Preflight, name: &str) -> &'a resilient::cloud::preflight::Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check: {report:?}"))
}

#[test]
fn a_user_holding_exactly_the_shipped_policy_deploys_injects_every_fault_and_destroys_everything() {
    let env = Enforced::start("rp1", |p| p);
    let mut host = env.deployer("rp1");

    let report = preflight(&host);
    assert!(report.passed(), "{report:?}");
    assert!(
        check(&report, "credentials")
            .detail
            .starts_with("arn:aws:iam::123456789012:user/deployer in account 123456789012"),
        "{report:?}"
    );
    // moto does not implement iam:SimulatePrincipalPolicy: the check says so
    // and the deploy goes on.
    let permissions = check(&report, "permissions");
    assert_eq!(permissions.outcome, Outcome::Skipped, "{report:?}");
    assert!(
        permissions
            .detail
            .contains("does not answer iam:SimulatePrincipalPolicy"),
        "{}",
        permissions.detail
    );
    assert!(!permissions.detail.contains('\n'), "{}", permissions.detail);

    run(
        &mut host,
        r#"
        deploy::all();
        deploy::open_port();
        inspect::targets();
        let first = inspect::instances()[0].id;
        failure::bad_table();
        failure::static_response(true);
        failure::health_check("deep");
        failure::latency(100);
        failure::error_rate(0.1);
        failure::crash(first);
        failure::hang(first);
        failure::group_health_check("ELB", 30);
        failure::bad_credentials(first);
        failure::reboot(first);
        failure::az_outage(inspect::instances()[0].az);
        failure::reset();
        failure::terminate(inspect::instances()[0].id);
        inspect::parameters();
        inspect::resources();
        "#,
    );
    // Deploying again reuses what is ours: the preflight says so.
    let report = preflight(&host);
    let names = check(&report, "names");
    assert_eq!(names.outcome, Outcome::Passed, "{report:?}");
    assert!(
        names.detail.contains("exist already and are reused"),
        "{names:?}"
    );
    run(&mut host, "deploy::all(); destroy::all();");
    assert_eq!(env.leftovers("rp1"), Vec::<String>::new());
}

#[test]
fn a_missing_read_permission_stops_the_deploy_in_the_preflight_naming_the_action() {
    let env = Enforced::start("rp2", |p| {
        without(p, "elasticloadbalancing:DescribeLoadBalancers")
    });
    let mut host = env.deployer("rp2");
    let e = eval_err(&mut host, "deploy::all()");
    assert!(
        e.message
            .starts_with("preflight failed, nothing was created: cannot look up which of this deployment's names are in use: describe load balancer rp2-lb failed: your credentials (arn:aws:iam::123456789012:user/deployer) may not call elasticloadbalancing:DescribeLoadBalancers (AccessDenied): grant it in your IAM policy"),
        "{e}"
    );
    assert!(!e.message.contains('\n'), "one sentence: {e}");
    assert_eq!(env.leftovers("rp2"), Vec::<String>::new());
}

#[test]
fn a_missing_create_permission_is_named_and_the_same_user_destroys_what_was_created() {
    let env = Enforced::start("rp3", |p| {
        without(p, "elasticloadbalancing:CreateLoadBalancer")
    });
    let mut host = env.deployer("rp3");
    // moto cannot simulate, so the preflight cannot see it: the first call
    // that needs it stops the deploy and names it.
    let e = eval_err(&mut host, "deploy::all()");
    assert!(
        e.message.contains(
            "create load balancer rp3-lb failed: your credentials (arn:aws:iam::123456789012:user/deployer) may not call elasticloadbalancing:CreateLoadBalancer (AccessDenied)"
        ),
        "{e}"
    );
    assert!(e.message.contains("docs/aws-policy.json"), "{e}");
    assert!(!e.message.contains('\n'), "one sentence: {e}");
    // Nothing half-created: everything that exists is ours (tagged), and
    // the same user's destroy removes it all.
    assert!(!env.leftovers("rp3").is_empty());
    let owned: Vec<serde_json::Value> = from(eval(&mut host, "inspect::resources()"));
    assert!(
        owned.iter().any(|r| r["kind"] == "target group"),
        "{owned:?}"
    );
    run(&mut host, "destroy::all();");
    assert_eq!(env.leftovers("rp3"), Vec::<String>::new());
}

/// moto (no IAM enforcement) whose default VPC keeps default subnets only in
/// `keep` of us-east-1a to us-east-1f (us-east-1e offers no t3.micro, in moto
/// as on AWS).
fn moto_with_default_subnets_in(keep: &[&str]) -> (Moto, Host, Clients) {
    let moto = Moto::start();
    let host = moto.host("rz");
    let c = block(&host, connect(&moto.aws())).unwrap();
    let offered = block(&host, resilient::internals::aws::offering(&c, "t3.micro")).unwrap();
    assert!(
        offered.contains("us-east-1a") && !offered.contains("us-east-1e"),
        "moto's us-east-1: {offered:?}"
    );
    let subnets = block(
        &host,
        c.ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("default-for-az")
                    .values("true")
                    .build(),
            )
            .send(),
    )
    .unwrap();
    for s in subnets.subnets() {
        if !keep.contains(&s.availability_zone().unwrap()) {
            block(
                &host,
                c.ec2
                    .delete_subnet()
                    .subnet_id(s.subnet_id().unwrap())
                    .send(),
            )
            .unwrap();
        }
    }
    (moto, host, c)
}

fn zones_of_subnets(host: &Host, c: &Clients, ids: &[String]) -> Vec<String> {
    let out = block(
        host,
        c.ec2
            .describe_subnets()
            .set_subnet_ids(Some(ids.to_vec()))
            .send(),
    )
    .unwrap();
    let mut zones: Vec<String> = out
        .subnets()
        .iter()
        .map(|s| s.availability_zone().unwrap().to_string())
        .collect();
    zones.sort();
    zones
}

#[test]
fn the_group_and_the_load_balancer_use_only_zones_that_offer_t3_micro() {
    // The first three default subnets by name would be d, e and f; e has no t3.micro.
    let (_moto, mut host, c) =
        moto_with_default_subnets_in(&["us-east-1d", "us-east-1e", "us-east-1f"]);
    let report = preflight(&host);
    assert_eq!(
        check(&report, "zones").detail,
        format!(
            "default VPC {} with default subnets in us-east-1d, us-east-1f offering t3.micro",
            block(&host, resilient::internals::aws::default_vpc(&c)).unwrap()
        )
    );
    run(&mut host, "deploy::all();");
    let g = block(
        &host,
        c.asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names("rz-group")
            .send(),
    )
    .unwrap();
    let group_subnets: Vec<String> = g.auto_scaling_groups()[0]
        .vpc_zone_identifier()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    assert_eq!(
        zones_of_subnets(&host, &c, &group_subnets),
        ["us-east-1d", "us-east-1f"]
    );
    let lb = block(&host, c.elb.describe_load_balancers().names("rz-lb").send()).unwrap();
    let mut lb_zones: Vec<&str> = lb.load_balancers()[0]
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    lb_zones.sort();
    assert_eq!(lb_zones, ["us-east-1d", "us-east-1f"]);
    run(&mut host, "destroy::all();");
}

#[test]
fn fewer_than_two_zones_offering_t3_micro_is_one_sentence_before_anything_is_created() {
    let (moto, mut host, c) = moto_with_default_subnets_in(&["us-east-1e", "us-east-1f"]);
    let e = eval_err(&mut host, "deploy::all()");
    assert!(
        e.message.starts_with(
            "preflight failed, nothing was created: only us-east-1f, of the zones with a default subnet in us-east-1, offers t3.micro (us-east-1e has one but no t3.micro), and the load balancer needs 2: create a default subnet in another zone that offers it"
        ),
        "{e}"
    );
    assert!(!e.message.contains('\n'), "one sentence: {e}");
    assert_eq!(
        block(&host, common::sweep::leftovers(&c, "rz")),
        Vec::<String>::new()
    );
    // The command line says the same, and fails.
    let out = resilient_cli(&moto, &["preflight", "--prefix", "rz"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✘ zones"), "{stdout}");
    assert!(
        stdout.contains("us-east-1e has one but no t3.micro"),
        "{stdout}"
    );
    // Listing and destroy need only the VPC: they work where no zone choice
    // can be made (say, a deployment made before a zone lost its default subnet).
    run(&mut host, "deploy::table();");
    let owned: Vec<serde_json::Value> = from(eval(&mut host, "inspect::resources()"));
    assert_eq!(owned.len(), 1, "{owned:?}");
    run(&mut host, "destroy::all();");
    assert_eq!(
        block(&host, common::sweep::leftovers(&c, "rz")),
        Vec::<String>::new()
    );
}

/// Runs the command line against moto on the AWS backend.
fn resilient_cli(moto: &Moto, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_resilient"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .args(["--backend", "aws", "--region", "us-east-1"])
        .args(["--endpoint-url", &moto.url])
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn someone_elses_resource_with_our_name_stops_the_deploy_before_anything_is_created() {
    let moto = Moto::start();
    let mut host = moto.host("rn");
    let c = block(&host, connect(&moto.aws())).unwrap();
    block(
        &host,
        c.ssm
            .put_parameter()
            .name("rn-health-check")
            .value("theirs")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send(),
    )
    .unwrap();
    let e = eval_err(&mut host, "deploy::all()");
    assert!(
        e.message.contains(
            "parameter rn-health-check already exists without the tag resilient:deployment=rn: it is someone else's, which deploy neither uses nor changes, so choose another --prefix"
        ),
        "{e}"
    );
    assert!(!e.message.contains('\n'), "one sentence: {e}");
    assert_eq!(
        block(&host, common::sweep::leftovers(&c, "rn")),
        ["parameter Some(\"rn-health-check\")"],
        "only theirs"
    );

    let out = resilient_cli(&moto, &["preflight", "--prefix", "rn"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for line in ["✔ credentials", "✔ zones", "✘ names", "! permissions"] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert!(stderr.contains("1 preflight check(s) failed"), "{stderr}");

    // The policy, filled in for moto's account and region and this prefix.
    let out = resilient_cli(&moto, &["preflight", "--policy", "--prefix", "rn"]);
    assert!(out.status.success(), "{out:?}");
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = policy.to_string();
    assert!(!text.contains("${"), "{text}");
    assert!(
        text.contains("arn:aws:iam::123456789012:role/rn-us-east-1-*role"),
        "{text}"
    );
}

#[test]
fn the_local_cloud_needs_no_preflight() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_resilient"))
        .args(["preflight"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("the local cloud needs no credentials"),
        "{stdout}"
    );
}
