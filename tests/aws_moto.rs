//! The AWS backend against moto server: deploy and read every resource back,
//! failure actions on the control plane, destroy leaving nothing, and destroy
//! after a half-done deploy. (moto cannot run instances: customer-visible
//! behaviour is proven on the local cloud.)

mod common;

use common::moto::Moto;
use common::{eval, eval_err, from, run};
use resilient::Host;
use resilient::internals::aws::Clients;
use resilient::internals::aws::connect;
use std::future::Future;

fn block<T>(host: &Host, f: impl Future<Output = T>) -> T {
    host.session().runtime().block_on(f)
}

/// Clients that reach moto directly: the test's own checks neither draw on
/// the AWS proxy's buckets nor meet its inconsistencies.
fn clients(host: &Host, moto: &Moto) -> Clients {
    block(host, connect(&moto.direct_aws())).expect("connect to moto")
}

#[test]
fn deploy_creates_every_resource_with_the_reference_settings() {
    let moto = Moto::start();
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
    let ami = block(&host, resilient::internals::aws::latest_ami(&c)).unwrap();
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
        Some("rt1-us-east-1-prof"),
        "IAM names carry the region"
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

    // Least privilege: Query on the table and GetParameters on the three
    // parameters (the only calls the server makes), ARNs in the caller's
    // partition and account.
    let good = block(
        &host,
        resilient::internals::aws::policy_of(&c, "rt1-us-east-1-pol"),
    )
    .unwrap();
    let good: serde_json::Value = serde_json::from_str(&good).unwrap();
    let statements = good["Statement"].as_array().unwrap();
    let actions: Vec<&str> = statements
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions, ["ssm:GetParameters", "dynamodb:Query"], "{good}");
    let text = good.to_string();
    assert!(
        text.contains("\"arn:aws:dynamodb:us-east-1:123456789012:table/rt1-recommendations\""),
        "{text}"
    );
    for p in [
        "rt1-table",
        "rt1-failure-response",
        "rt1-health-check",
        "rt1-fault",
    ] {
        assert!(
            text.contains(&format!(
                "\"arn:aws:ssm:us-east-1:123456789012:parameter/{p}\""
            )),
            "{text}"
        );
    }
    assert!(!text.contains('*'), "no wildcards: {text}");
    let bad = block(
        &host,
        resilient::internals::aws::policy_of(&c, "rt1-us-east-1-bc-pol"),
    )
    .unwrap();
    assert!(
        !bad.contains("dynamodb") && bad.contains("parameter/rt1-table"),
        "{bad}"
    );

    // Our own security groups, never the default one: the load balancer's
    // admits nobody until open_port; the instances' admits port 80 from the
    // load balancer's group only.
    let (lb_sg, lb_rules) = security_group(&host, &c, "rt1-lb-sg");
    let (instance_sg, instance_rules) = security_group(&host, &c, "rt1-instance-sg");
    assert!(lb_rules.is_empty(), "{lb_rules:?}");
    assert_eq!(instance_rules.len(), 1, "{instance_rules:?}");
    let rule = &instance_rules[0];
    assert_eq!(
        (rule.ip_protocol(), rule.from_port(), rule.to_port()),
        (Some("tcp"), Some(80), Some(80))
    );
    assert!(rule.ip_ranges().is_empty(), "no address range: {rule:?}");
    let sources: Vec<&str> = rule
        .user_id_group_pairs()
        .iter()
        .filter_map(|p| p.group_id())
        .collect();
    assert_eq!(sources, [lb_sg.as_str()]);
    assert_eq!(data.security_group_ids(), [instance_sg.as_str()]);
    assert_eq!(
        lb.load_balancers()[0].security_groups(),
        [lb_sg.as_str()],
        "the load balancer uses its own group"
    );
    let (_, default_rules) = security_group(&host, &c, "default");
    assert!(
        !format!("{default_rules:?}").contains("rt1"),
        "the default group is untouched: {default_rules:?}"
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
    let moto = Moto::start();
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
    assert!(
        arns.iter().any(|a| a.ends_with("/rt2-us-east-1-bc-prof")),
        "{arns:?}"
    );
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
    assert_eq!(v["profile"], "rt2-us-east-1-bc-prof", "{instances:?}");

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
    // Dependency faults travel in the fault parameter the instances read.
    run(
        &mut host,
        "failure::latency(100); failure::error_rate(0.25);",
    );
    let fault = block(&host, c.ssm.get_parameter().name("rt2-fault").send()).unwrap();
    let fault: serde_json::Value =
        serde_json::from_str(fault.parameter().unwrap().value().unwrap()).unwrap();
    assert_eq!(fault["latency_ms"], 100, "{fault}");
    assert_eq!(fault["error_rate"], 0.25, "{fault}");
    // Throttling, a flapping health check and a Parameter Store outage
    // travel the same way: the servers apply them.
    let other = eval(
        &mut host,
        &format!(
            r#"let o = inspect::instances().filter(|i| i.id != "{victim}")[0].id;
               failure::throttle(0.5); failure::parameter_store_outage(true);
               failure::flap(o, 20000, 5000); o"#
        ),
    )
    .into_string()
    .unwrap();
    let fault = block(&host, c.ssm.get_parameter().name("rt2-fault").send()).unwrap();
    let fault: serde_json::Value =
        serde_json::from_str(fault.parameter().unwrap().value().unwrap()).unwrap();
    assert_eq!(fault["throttle_rate"], 0.5, "{fault}");
    assert_eq!(fault["parameter_store_down"], true, "{fault}");
    assert_eq!(
        fault["flap"][&other],
        serde_json::json!([20000, 5000]),
        "{fault}"
    );
    // The group's scaling activities are read (moto keeps none); a zone
    // without capacity cannot be caused on AWS, and says so.
    let activities = eval(&mut host, "inspect::activities()");
    assert!(activities.is_array(), "{activities:?}");
    let e = eval_err(&mut host, "failure::insufficient_capacity(\"us-east-1a\")");
    assert!(
        e.message
            .contains("AWS cannot be told to run out of capacity"),
        "{e}"
    );

    run(&mut host, "failure::reset();");
    let p: serde_json::Value = from(eval(&mut host, "inspect::parameters()"));
    assert_eq!(p["table"], "rt2-recommendations");
    assert_eq!(p["failure_response"], "none");
    assert_eq!(p["fault"]["latency_ms"], 0, "{p}");
    assert_eq!(p["fault"]["error_rate"], 0.0, "{p}");
    assert_eq!(p["fault"]["throttle_rate"], 0.0, "{p}");
    assert!(p["fault"].get("flap").is_none(), "{p}");
    run(&mut host, "destroy::all();");
}

/// A security group's id and ingress rules, by name.
fn security_group(
    host: &Host,
    c: &Clients,
    name: &str,
) -> (String, Vec<aws_sdk_ec2::types::IpPermission>) {
    let out = block(
        host,
        c.ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-name")
                    .values(name)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let g = &out.security_groups()[0];
    (
        g.group_id().unwrap().to_string(),
        g.ip_permissions().to_vec(),
    )
}

/// Everything whose name starts with the prefix, looked up directly in every
/// service the deployment uses (tag or no tag). Any error but "not found" fails.
fn leftovers(host: &Host, c: &Clients, prefix: &str) -> Vec<String> {
    block(host, common::sweep::leftovers(c, prefix))
}

#[test]
fn destroy_removes_everything_including_the_port_rule_and_is_idempotent() {
    let moto = Moto::start();
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
    // The /32 is the load balancer group's only rule.
    let (_, lb_rules) = security_group(&host, &c, "rt3-lb-sg");
    let ranges: Vec<&str> = lb_rules
        .iter()
        .flat_map(|r| r.ip_ranges())
        .filter_map(|r| r.cidr_ip())
        .collect();
    assert_eq!(ranges, ["203.0.113.7/32"], "{lb_rules:?}");
    let before = leftovers(&host, &c, "rt3");
    assert!(before.len() >= 15, "everything is there before: {before:?}");
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
    let moto = Moto::start();
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
    let moto = Moto::start();
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
        ..Default::default()
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

#[test]
fn deploy_refuses_a_resource_with_our_name_but_not_our_tag_and_destroy_leaves_it_alone() {
    let moto = Moto::start();
    let mut host = moto.host("rt6");
    let c = clients(&host, &moto);
    // Someone else's launch template and parameter, named as ours would be.
    block(
        &host,
        c.ec2
            .create_launch_template()
            .launch_template_name("rt6-template")
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id("ami-12c6146b")
                    .build(),
            )
            .send(),
    )
    .unwrap();
    block(
        &host,
        c.ssm
            .put_parameter()
            .name("rt6-health-check")
            .value("theirs")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send(),
    )
    .unwrap();

    let e = eval_err(&mut host, "deploy::parameters()");
    assert!(
        e.message.contains(
            "parameter rt6-health-check already exists but is not tagged resilient:deployment=rt6"
        ),
        "{e}"
    );
    assert!(e.message.contains("--prefix"), "{e}");
    run(&mut host, "deploy::table(); deploy::instance_profile();");
    let e = eval_err(&mut host, "deploy::launch_template()");
    assert!(
        e.message
            .contains("launch template rt6-template already exists but is not tagged"),
        "{e}"
    );
    let owned: Vec<serde_json::Value> = from(eval(&mut host, "inspect::resources()"));
    let names: Vec<&str> = owned.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"rt6-template"), "{names:?}");
    assert!(!names.contains(&"rt6-health-check"), "{names:?}");
    assert!(names.contains(&"rt6-recommendations"), "{names:?}");

    // Destroy deletes ours and only ours.
    run(&mut host, "destroy::all();");
    let mut left = leftovers(&host, &c, "rt6");
    left.sort();
    assert_eq!(
        left,
        [
            "launch template Some(\"rt6-template\")",
            "parameter Some(\"rt6-health-check\")"
        ]
    );
    let theirs = block(&host, c.ssm.get_parameter().name("rt6-health-check").send()).unwrap();
    assert_eq!(theirs.parameter().and_then(|p| p.value()), Some("theirs"));
}

#[test]
fn destroy_goes_on_past_a_failure_reports_it_and_a_rerun_finishes() {
    let moto = Moto::start();
    let mut host = moto.host("rt8");
    run(&mut host, "deploy::all(); deploy::open_port();");
    let c = clients(&host, &moto);
    // The table cannot be deleted while its deletion protection is on.
    block(
        &host,
        c.ddb
            .update_table()
            .table_name("rt8-recommendations")
            .deletion_protection_enabled(true)
            .send(),
    )
    .unwrap();
    let e = eval_err(&mut host, "destroy::all()");
    assert!(
        e.message
            .contains("destroy left 1 resource(s) behind (run it again to finish)"),
        "{e}"
    );
    assert!(e.message.contains("table rt8-recommendations"), "{e}");
    // Everything else went, the port rule and the security groups included.
    assert_eq!(
        leftovers(&host, &c, "rt8"),
        ["table rt8-recommendations"],
        "only the protected table is left"
    );
    block(
        &host,
        c.ddb
            .update_table()
            .table_name("rt8-recommendations")
            .deletion_protection_enabled(false)
            .send(),
    )
    .unwrap();
    // A fresh process finishes the job.
    drop(host);
    let mut fresh = moto.host("rt8");
    let removed: Vec<serde_json::Value> = from(eval(&mut fresh, "destroy::all()"));
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(leftovers(&fresh, &c, "rt8"), Vec::<String>::new());
}

#[test]
fn one_prefix_in_two_regions_shares_nothing_and_destroying_one_keeps_the_other() {
    let moto = Moto::start();
    let mut east = moto.host("rt9");
    let mut west = {
        let mut settings = moto.settings("rt9");
        settings.aws.region = Some("us-west-2".into());
        resilient::Host::new(resilient::HostOptions {
            settings,
            batch: true,
            ..Default::default()
        })
        .unwrap()
    };
    run(&mut east, "deploy::all();");
    run(&mut west, "deploy::all();");
    let iam_of = |host: &mut Host| -> Vec<String> {
        let owned: Vec<serde_json::Value> = from(eval(host, "inspect::resources()"));
        owned
            .iter()
            .filter(|r| {
                let kind = r["kind"].as_str().unwrap();
                kind.starts_with("iam") || kind == "instance profile"
            })
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let east_iam = iam_of(&mut east);
    assert_eq!(east_iam.len(), 6, "{east_iam:?}");
    assert!(
        east_iam.iter().all(|n| n.contains("-us-east-1-")),
        "{east_iam:?}"
    );
    assert!(iam_of(&mut west).iter().all(|n| n.contains("-us-west-2-")));
    run(&mut west, "destroy::all();");
    assert_eq!(iam_of(&mut east), east_iam, "east keeps its IAM");
    let east_policy = block(
        &east,
        resilient::internals::aws::policy_of(&clients(&east, &moto), "rt9-us-east-1-pol"),
    )
    .unwrap();
    assert!(east_policy.contains(":us-east-1:"), "{east_policy}");
    run(&mut east, "destroy::all();");
}

#[test]
fn a_zone_outage_evacuates_the_zone_keeps_capacity_and_is_restored() {
    let moto = Moto::start();
    let mut host = moto.host("rt10");
    run(&mut host, "deploy::all();");
    let c = clients(&host, &moto);
    let group = |host: &Host| {
        let g = block(
            host,
            c.asg
                .describe_auto_scaling_groups()
                .auto_scaling_group_names("rt10-group")
                .send(),
        )
        .unwrap();
        g.auto_scaling_groups()[0].clone()
    };
    let subnets_before: Vec<String> = group(&host)
        .vpc_zone_identifier()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    assert!(subnets_before.len() >= 2, "{subnets_before:?}");
    let before: Vec<serde_json::Value> = from(eval(&mut host, "inspect::instances()"));
    let az = before[0]["az"].as_str().unwrap().to_string();
    let in_zone: Vec<String> = before
        .iter()
        .filter(|i| i["az"] == az.as_str())
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();

    run(&mut host, &format!("failure::az_outage(\"{az}\");"));
    let g = group(&host);
    let subnets: Vec<&str> = g.vpc_zone_identifier().unwrap().split(',').collect();
    assert_eq!(subnets.len(), subnets_before.len() - 1, "{subnets:?}");
    assert_eq!(g.desired_capacity(), Some(3), "capacity is kept");
    let after: Vec<serde_json::Value> = from(eval(&mut host, "inspect::instances()"));
    for id in &in_zone {
        assert!(
            after
                .iter()
                .all(|i| i["id"] != id.as_str() || i["state"] != "running"),
            "{id} in the lost zone is gone: {after:?}"
        );
    }
    let running_elsewhere = after
        .iter()
        .filter(|i| i["az"] != az.as_str() && i["state"] == "running")
        .count();
    assert_eq!(
        running_elsewhere, 3,
        "replacements in the other zones: {after:?}"
    );

    run(&mut host, "failure::reset();");
    let subnets_after: Vec<String> = group(&host)
        .vpc_zone_identifier()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    assert_eq!(subnets_after, subnets_before, "every zone is back");
    run(&mut host, "destroy::all();");
}

#[test]
fn the_group_health_check_type_reaches_the_group() {
    let moto = Moto::start();
    let mut host = moto.host("rt11");
    run(&mut host, "deploy::all();");
    // On AWS the grace period with ELB checks is at least 300 s: an instance
    // fails its checks while it boots and installs its server.
    let applied = eval(&mut host, "failure::group_health_check(\"ELB\", 60)");
    assert_eq!(applied.as_int().unwrap(), 300);
    let c = clients(&host, &moto);
    let g = block(
        &host,
        c.asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names("rt11-group")
            .send(),
    )
    .unwrap();
    let g = &g.auto_scaling_groups()[0];
    assert_eq!(g.health_check_type(), Some("ELB"));
    assert_eq!(g.health_check_grace_period(), Some(300));
    let e = eval_err(&mut host, "failure::group_health_check(\"TCP\")");
    assert!(e.message.contains("expected \"EC2\" or \"ELB\""), "{e}");
    run(&mut host, "destroy::all();");
}

#[test]
fn the_control_plane_scenario_passes_the_same_checks_on_aws() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_resilient"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "examples/control_plane.rhai",
            "--yes",
            "--backend",
            "aws",
        ])
        .args([
            "--region",
            "us-east-1",
            "--prefix",
            "rt12",
            "--endpoint-url",
            &moto.url,
        ])
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("checks: 10 passed, 0 failed"), "{stdout}");
}

/// Releases on AWS. On moto: a new launch template version is created from
/// version 1 with the release's user data and description, read back by
/// `inspect::versions()`; the group launches the numbered version 1 (AWS
/// rolls back only then). The instance refresh calls are answered by the
/// test proxy's scripted stand-in (moto has none): the request carries the
/// desired configuration and every preference; statuses, percentage and
/// errors (`InstanceRefreshInProgress`, `ActiveInstanceRefreshNotFound`)
/// are parsed as AWS documents them.
#[test]
fn releases_create_launch_template_versions_and_drive_an_instance_refresh() {
    let moto = Moto::start_with_proxy();
    let mut host = moto.host("rt13");
    run(&mut host, "deploy::all();");
    let c = clients(&host, &moto);
    let g = block(
        &host,
        c.asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names("rt13-group")
            .send(),
    )
    .unwrap();
    let spec = g.auto_scaling_groups()[0].launch_template().unwrap();
    assert_eq!(spec.version(), Some("1"), "a numbered version");

    let v = eval(
        &mut host,
        r#"deploy::new_version(#{ label: "v2", broken: "error_500" })"#,
    );
    assert_eq!(v.as_int().unwrap(), 2);
    let versions = block(
        &host,
        c.ec2
            .describe_launch_template_versions()
            .launch_template_name("rt13-template")
            .versions("2")
            .send(),
    )
    .unwrap();
    let v2 = &versions.launch_template_versions()[0];
    assert_eq!(
        v2.version_description(),
        Some("resilient release=v2 broken=error_500")
    );
    let user_data = v2
        .launch_template_data()
        .and_then(|d| d.user_data())
        .expect("user data");
    let user_data =
        String::from_utf8(aws_smithy_types::base64::decode(user_data).unwrap()).unwrap();
    assert!(
        user_data.contains("Environment=RESILIENT_VERSION=v2\n")
            && user_data.contains("Environment=RESILIENT_BREAK=error_500\n"),
        "{user_data}"
    );
    let seen: serde_json::Value = from(eval(&mut host, "inspect::versions()"));
    assert_eq!(seen["group"], 1, "{seen}");
    assert_eq!(seen["all"][0]["label"], "v1", "{seen}");
    assert_eq!(seen["all"][1]["label"], "v2", "{seen}");
    assert_eq!(seen["all"][1]["broken"], "error_500", "{seen}");
    let e = eval_err(&mut host, r#"deploy::new_version(#{ broken: "melting" })"#);
    assert!(e.message.contains("expected one of"), "{e}");

    // A good release rolled out: the scripted refresh goes to Successful.
    let id = eval(
        &mut host,
        r#"let v3 = deploy::new_version(#{ label: "v3" });
           deploy::roll_out(#{ version: v3, min_healthy_percentage: 66, warmup_s: 60,
                               checkpoints: [50, 100], checkpoint_delay_s: 30, auto_rollback: true })"#,
    )
    .into_string()
    .unwrap();
    let e = eval_err(&mut host, "deploy::roll_out(#{})");
    assert!(e.message.contains("InstanceRefreshInProgress"), "{e}");
    let end: serde_json::Value = from(eval(&mut host, "deploy::wait_roll_out(600_000)"));
    assert_eq!(end["id"], id.as_str());
    assert_eq!(end["status"], "Successful", "{end}");
    assert_eq!(end["percentage_complete"], 100, "{end}");
    assert_eq!(end["version"], 3, "{end}");
    // Not listed by roll_out's own look nor by the wait's first (AWS lists
    // a new refresh a while after it starts): the wait went on until it
    // was, and saw it move (the stand-in moves one step a look).
    assert_eq!(
        end["statuses"],
        serde_json::json!(["InProgress", "Successful"]),
        "{end}"
    );
    assert_eq!(
        moto.proxy().unwrap().count("refresh_not_listed_yet"),
        2,
        "the refresh was not listed at once"
    );
    let started = moto.proxy().unwrap().refreshes("rt13-group");
    let request: std::collections::BTreeMap<&str, &str> = started[0]
        .request
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (key, want) in [
        ("Strategy", "Rolling"),
        (
            "DesiredConfiguration.LaunchTemplate.LaunchTemplateName",
            "rt13-template",
        ),
        ("DesiredConfiguration.LaunchTemplate.Version", "3"),
        ("Preferences.MinHealthyPercentage", "66"),
        ("Preferences.InstanceWarmup", "60"),
        ("Preferences.CheckpointPercentages.member.1", "50"),
        ("Preferences.CheckpointPercentages.member.2", "100"),
        ("Preferences.CheckpointDelay", "30"),
        ("Preferences.AutoRollback", "true"),
        ("Preferences.SkipMatching", "false"),
    ] {
        assert_eq!(request.get(key).copied(), Some(want), "{key}: {request:?}");
    }
    // Nothing to cancel or roll back now.
    let e = eval_err(&mut host, "deploy::cancel_roll_out()");
    assert!(e.message.contains("ActiveInstanceRefreshNotFound"), "{e}");
    // The bad release is a fault; rolling it back by hand goes back.
    run(
        &mut host,
        r#"deploy::roll_out(#{ version: 2, auto_rollback: true }); deploy::roll_back();"#,
    );
    let end: serde_json::Value = from(eval(&mut host, "deploy::wait_roll_out(600_000)"));
    assert_eq!(end["status"], "RollbackSuccessful", "{end}");
    let last: serde_json::Value = from(eval(&mut host, "inspect::roll_out()"));
    assert_eq!(last["status"], "RollbackSuccessful", "{last}");
    assert_eq!(last["active"], false, "{last}");
    // A cancel: Cancelling, then Cancelled.
    run(
        &mut host,
        "deploy::roll_out(#{ version: 3 }); deploy::cancel_roll_out();",
    );
    let end: serde_json::Value = from(eval(&mut host, "deploy::wait_roll_out(600_000)"));
    assert_eq!(end["status"], "Cancelled", "{end}");
    run(&mut host, "destroy::all();");
    // Deleting the launch template deleted its versions.
    let gone = block(
        &host,
        c.ec2
            .describe_launch_template_versions()
            .launch_template_name("rt13-template")
            .send(),
    );
    assert!(gone.is_err(), "the template and its versions are gone");
}
