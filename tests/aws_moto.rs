//! The AWS backend against moto server: deploy and read every resource back,
//! failure actions on the control plane, destroy leaving nothing, and destroy
//! after a half-done deploy. (moto cannot run instances: customer-visible
//! behaviour is proven on the local cloud.)

mod common;

use common::moto::Moto;
use common::{eval, eval_err, from, run};
use resilient::Host;
use resilient::cloud::aws::Clients;
use resilient::cloud::aws::clients::connect;
use std::future::Future;

fn block<T>(host: &Host, f: impl Future<Output = T>) -> T {
    host.session().runtime().block_on(f)
}

fn clients(host: &Host, moto: &Moto) -> Clients {
    block(host, connect(&moto.aws())).expect("connect to moto")
}

#[test]
fn deploy_creates_every_resource_with_the_reference_settings() {
    let Some(moto) = Moto::start() else { return };
    let mut host = moto.host("rt1");
    let d: serde_json::Value = from(eval(&mut host, "deploy::all()"));
    assert!(
        d["endpoint"].as_str().unwrap().starts_with("http://rt1-lb"),
        "{d}"
    );
    assert_eq!(d["backend"], "aws");
    let c = clients(&host, &moto);

    // Launch template: Amazon Linux 2023 AMI, t3.micro, IMDSv2 required, the
    // profile, and user data that carries the server as a systemd unit.
    let ami = block(&host, resilient::cloud::aws::ssm::latest_ami(&c)).unwrap();
    let lt = block(
        &host,
        c.ec2
            .describe_launch_template_versions()
            .launch_template_name("rt1-template")
            .versions("$Default")
            .send(),
    )
    .unwrap();
    let data = lt.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    assert_eq!(data.image_id(), Some(ami.as_str()));
    assert_eq!(data.instance_type().map(|t| t.as_str()), Some("t3.micro"));
    assert_eq!(
        data.metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str()),
        Some("required")
    );
    assert_eq!(
        data.iam_instance_profile().and_then(|p| p.name()),
        Some("rt1-prof")
    );
    let user_data =
        String::from_utf8(aws_smithy_types::base64::decode(data.user_data().unwrap()).unwrap())
            .unwrap();
    assert!(user_data.contains("def health_check") && user_data.contains("systemctl enable --now"));
    assert!(user_data.contains("RESILIENT_PREFIX=rt1"));

    // The group: 3 instances over the default subnets, attached to the target group.
    let g = block(
        &host,
        c.asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names("rt1-group")
            .send(),
    )
    .unwrap();
    let g = &g.auto_scaling_groups()[0];
    assert_eq!(
        (g.min_size(), g.max_size(), g.desired_capacity()),
        (Some(3), Some(3), Some(3))
    );
    assert_eq!(g.instances().len(), 3);
    let subnets = g.vpc_zone_identifier().unwrap().split(',').count();
    assert!((1..=3).contains(&subnets));
    assert_eq!(g.target_group_arns().len(), 1);

    // Target group health checks as the reference, and a listener forwarding to it.
    let tg = block(&host, c.elb.describe_target_groups().names("rt1-tg").send()).unwrap();
    let tg = &tg.target_groups()[0];
    assert_eq!(tg.health_check_path(), Some("/healthcheck"));
    assert_eq!(tg.health_check_interval_seconds(), Some(10));
    assert_eq!(tg.health_check_timeout_seconds(), Some(5));
    assert_eq!(tg.healthy_threshold_count(), Some(2));
    assert_eq!(tg.unhealthy_threshold_count(), Some(2));
    assert_eq!(tg.port(), Some(80));
    let lb = block(
        &host,
        c.elb.describe_load_balancers().names("rt1-lb").send(),
    )
    .unwrap();
    let lb_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let listeners = block(
        &host,
        c.elb.describe_listeners().load_balancer_arn(lb_arn).send(),
    )
    .unwrap();
    let action = &listeners.listeners()[0].default_actions()[0];
    assert_eq!(action.r#type().map(|t| t.as_str()), Some("forward"));
    assert_eq!(action.target_group_arn(), tg.target_group_arn());

    // Least privilege: the table and the three parameters, nothing else.
    let good = block(&host, resilient::cloud::aws::iam::policy_of(&c, "rt1-pol")).unwrap();
    let good: serde_json::Value = serde_json::from_str(&good).unwrap();
    let text = good.to_string();
    assert!(text.contains(":table/rt1-recommendations\""), "{text}");
    for p in ["rt1-table", "rt1-failure-response", "rt1-health-check"] {
        assert!(text.contains(&format!(":parameter/{p}\"")), "{text}");
    }
    assert!(!text.contains('*'), "no wildcards: {text}");
    let bad = block(
        &host,
        resilient::cloud::aws::iam::policy_of(&c, "rt1-bc-pol"),
    )
    .unwrap();
    assert!(
        !bad.contains("dynamodb") && bad.contains("parameter/rt1-table"),
        "{bad}"
    );

    // The table is filled; the parameters start healthy.
    let scan = block(&host, c.ddb.scan().table_name("rt1-recommendations").send()).unwrap();
    assert_eq!(scan.count(), 9);
    let params: serde_json::Value = from(eval(&mut host, "inspect::parameters()"));
    assert_eq!(params["table"], "rt1-recommendations");
    assert_eq!(params["failure_response"], "none");
    assert_eq!(params["health_check"], "shallow");
    let targets: Vec<serde_json::Value> = from(eval(&mut host, "inspect::targets()"));
    assert_eq!(targets.len(), 3, "{targets:?}");
    run(&mut host, "destroy::all();");
}

#[test]
fn failure_actions_reach_the_control_plane() {
    let Some(moto) = Moto::start() else { return };
    let mut host = moto.host("rt2");
    run(&mut host, "deploy::all();");
    let c = clients(&host, &moto);
    run(
        &mut host,
        r#"failure::bad_table(); failure::static_response(true); failure::health_check("deep");"#,
    );
    let p: serde_json::Value = from(eval(&mut host, "inspect::parameters()"));
    assert_eq!(p["table"], "rt2-no-such-table");
    assert_eq!(p["failure_response"], "static");
    assert_eq!(p["health_check"], "deep");

    // moto's group instances have no profile: the association is created.
    let victim = eval(
        &mut host,
        "let v = inspect::instances()[0].id; failure::bad_credentials(v); v",
    )
    .into_string()
    .unwrap();
    let assoc = block(
        &host,
        c.ec2
            .describe_iam_instance_profile_associations()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("instance-id")
                    .values(&victim)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let arns: Vec<&str> = assoc
        .iam_instance_profile_associations()
        .iter()
        .filter_map(|a| a.iam_instance_profile().and_then(|p| p.arn()))
        .collect();
    assert!(arns.iter().any(|a| a.ends_with("/rt2-bc-prof")), "{arns:?}");
    // Again: now there is an association to replace.
    run(
        &mut host,
        &format!("failure::bad_credentials(\"{victim}\");"),
    );
    let instances: Vec<serde_json::Value> = from(eval(&mut host, "inspect::instances()"));
    let v = instances
        .iter()
        .find(|i| i["id"] == victim.as_str())
        .unwrap();
    assert_eq!(v["profile"], "rt2-bc-prof", "{instances:?}");

    run(&mut host, &format!("failure::reboot(\"{victim}\");"));
    run(&mut host, &format!("failure::terminate(\"{victim}\");"));
    let state = block(
        &host,
        c.ec2.describe_instances().instance_ids(&victim).send(),
    )
    .unwrap();
    let state = state.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_string())
        .unwrap();
    assert!(state == "shutting-down" || state == "terminated", "{state}");
    let e = eval_err(&mut host, "failure::terminate(\"i-00000000000000000\")");
    assert!(e.message.contains("unknown instance"), "{e}");
    let e = eval_err(&mut host, "failure::latency(100)");
    assert!(e.message.contains("aws backend does not support"), "{e}");

    run(&mut host, "failure::reset();");
    let p: serde_json::Value = from(eval(&mut host, "inspect::parameters()"));
    assert_eq!(p["table"], "rt2-recommendations");
    assert_eq!(p["failure_response"], "none");
    run(&mut host, "destroy::all();");
}

/// Everything of the deployment that can still be found, looked up directly.
fn leftovers(host: &Host, c: &Clients, prefix: &str) -> Vec<String> {
    block(host, async {
        let mut left = Vec::new();
        let p = |s: &str| format!("{prefix}-{s}");
        if c.elb
            .describe_load_balancers()
            .names(p("lb"))
            .send()
            .await
            .is_ok()
        {
            left.push("load balancer".to_string());
        }
        if c.elb
            .describe_target_groups()
            .names(p("tg"))
            .send()
            .await
            .is_ok()
        {
            left.push("target group".into());
        }
        let groups = c.asg.describe_auto_scaling_groups().send().await.unwrap();
        if groups
            .auto_scaling_groups()
            .iter()
            .any(|g| g.auto_scaling_group_name() == Some(&p("group")))
        {
            left.push("auto scaling group".into());
        }
        let lts = c.ec2.describe_launch_templates().send().await.unwrap();
        if lts
            .launch_templates()
            .iter()
            .any(|t| t.launch_template_name() == Some(&p("template")))
        {
            left.push("launch template".into());
        }
        let profiles = c.iam.list_instance_profiles().send().await.unwrap();
        for i in profiles.instance_profiles() {
            if i.instance_profile_name().starts_with(prefix) {
                left.push(format!("profile {}", i.instance_profile_name()));
            }
        }
        let roles = c.iam.list_roles().send().await.unwrap();
        for r in roles.roles() {
            if r.role_name().starts_with(prefix) {
                left.push(format!("role {}", r.role_name()));
            }
        }
        let policies = c
            .iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .send()
            .await
            .unwrap();
        for pol in policies.policies() {
            if pol.policy_name().is_some_and(|n| n.starts_with(prefix)) {
                left.push(format!("policy {:?}", pol.policy_name()));
            }
        }
        let tables = c.ddb.list_tables().send().await.unwrap();
        for t in tables.table_names() {
            if t.starts_with(prefix) {
                left.push(format!("table {t}"));
            }
        }
        let params = c.ssm.describe_parameters().send().await.unwrap();
        for par in params.parameters() {
            if par.name().is_some_and(|n| n.starts_with(prefix)) {
                left.push(format!("parameter {:?}", par.name()));
            }
        }
        let groups = c.ec2.describe_security_groups().send().await.unwrap();
        for g in groups.security_groups() {
            for perm in g.ip_permissions() {
                for r in perm.ip_ranges() {
                    if r.description().is_some_and(|d| d.contains(prefix)) {
                        left.push(format!("security group rule {:?}", r.cidr_ip()));
                    }
                }
            }
        }
        left
    })
}

#[test]
fn destroy_removes_everything_including_the_port_rule_and_is_idempotent() {
    let Some(moto) = Moto::start() else { return };
    let mut host = moto.host("rt3");
    run(&mut host, "deploy::all();");
    let opened: serde_json::Value = from(eval(&mut host, "deploy::open_port()"));
    assert_eq!(opened["opened"], true, "{opened}");
    assert!(
        opened["detail"]
            .as_str()
            .unwrap()
            .contains("203.0.113.7/32")
    );
    let c = clients(&host, &moto);
    let before = leftovers(&host, &c, "rt3");
    assert!(before.len() >= 12, "everything is there before: {before:?}");
    let owned: Vec<serde_json::Value> = from(eval(&mut host, "inspect::resources()"));
    assert!(
        owned.iter().any(|r| r["kind"] == "security group rule"),
        "{owned:?}"
    );

    let removed: Vec<serde_json::Value> = from(eval(&mut host, "destroy::all()"));
    assert_eq!(removed.len(), owned.len(), "{removed:?} vs {owned:?}");
    assert_eq!(leftovers(&host, &c, "rt3"), Vec::<String>::new());
    let owned: Vec<serde_json::Value> = from(eval(&mut host, "inspect::resources()"));
    assert!(owned.is_empty(), "{owned:?}");
    let again: Vec<serde_json::Value> = from(eval(&mut host, "destroy::all()"));
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn destroy_after_a_deploy_that_failed_half_way_leaves_nothing() {
    let Some(moto) = Moto::start() else { return };
    let mut host = moto.host("rt4");
    run(
        &mut host,
        "deploy::table(); deploy::instance_profile(); deploy::parameters();",
    );
    // The group needs the launch template: this step fails.
    let e = eval_err(&mut host, "deploy::auto_scaling_group()");
    assert!(
        e.message.contains("create Auto Scaling group rt4-group"),
        "{e}"
    );
    let c = clients(&host, &moto);
    assert!(!leftovers(&host, &c, "rt4").is_empty());
    // A new session (as after a crash) finds everything by name.
    drop(host);
    let mut fresh = moto.host("rt4");
    run(&mut fresh, "destroy::all();");
    assert_eq!(leftovers(&fresh, &c, "rt4"), Vec::<String>::new());
}

#[test]
fn an_unreachable_endpoint_is_one_clear_sentence_before_anything_is_created() {
    let Some(moto) = Moto::start() else { return };
    let mut settings = moto.aws();
    settings.endpoint_url = Some(format!("http://127.0.0.1:{}", common::moto::free_port()));
    let mut host = resilient::Host::new(resilient::HostOptions {
        settings: resilient::Settings {
            backend: resilient::Backend::Aws,
            prefix: "rt5".into(),
            aws: settings,
            ..resilient::Settings::default()
        },
        batch: true,
    })
    .unwrap();
    let e = eval_err(&mut host, "deploy::all()");
    assert!(
        e.message.starts_with("cannot reach http://127.0.0.1:"),
        "{e}"
    );
    assert!(!e.message.contains('\n'), "one sentence: {e}");
    let c = clients(&host, &moto);
    assert_eq!(leftovers(&host, &c, "rt5"), Vec::<String>::new());
}
