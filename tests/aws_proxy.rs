//! The AWS proxy of the test suite (tests/common/aws_proxy.rs): its parsing
//! and its buckets alone, then each behaviour driven with the real SDK
//! against moto, with the SDK's retries disabled so every answer shows.
// The closures hand back the SDK's own results, errors and all, to look at them.
#![allow(clippy::result_large_err)]

mod common;

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use common::aws_proxy::{
    self, AwsProxy, Call, Config, EC2_NON_MUTATING, ELB_DESCRIBE, ENI_LINGER, IAM_NOT_YET, Limits,
    SSM_GET_PARAMETERS, TABLE_TRANSITION, TokenBucket,
};
use common::moto::Moto;
use resilient::internals::aws::Clients;
use std::time::{Duration, Instant};

/// Code, message and HTTP status of a failed call.
fn meta<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> (String, String, u16) {
    (
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
        e.raw_response().map_or(0, |r| r.status().as_u16()),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Clients that reach moto through `proxy` with the SDK's retries off
/// (connected to moto directly, so even the preflight draws nothing).
fn through(rt: &tokio::runtime::Runtime, moto: &Moto, proxy: &AwsProxy) -> Clients {
    let c = rt
        .block_on(resilient::internals::aws::connect(&moto.direct_aws()))
        .unwrap();
    let url = proxy.url.clone();
    macro_rules! via {
        ($krate:ident, $client:expr) => {
            $krate::Client::from_conf(
                $client
                    .config()
                    .to_builder()
                    .endpoint_url(&url)
                    .retry_config(RetryConfig::disabled())
                    .build(),
            )
        };
    }
    Clients {
        ec2: via!(aws_sdk_ec2, c.ec2),
        asg: via!(aws_sdk_autoscaling, c.asg),
        elb: via!(aws_sdk_elasticloadbalancingv2, c.elb),
        ddb: via!(aws_sdk_dynamodb, c.ddb),
        ssm: via!(aws_sdk_ssm, c.ssm),
        iam: via!(aws_sdk_iam, c.iam),
        ..c
    }
}

/// A proxy with only the given behaviour on (seeded as every proxy is).
fn only(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::transparent();
    c.seed = Config::aws().seed;
    f(&mut c);
    c
}

#[test]
fn requests_are_read_as_sigv4_and_the_protocols_say() {
    let auth = "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
    assert_eq!(
        aws_proxy::credential_scope(auth),
        Some(("us-east-1".into(), "elasticloadbalancing".into()))
    );
    assert_eq!(aws_proxy::credential_scope("Bearer x"), None);
    assert_eq!(
        aws_proxy::credential_scope("AWS4-HMAC-SHA256 Credential=a/b/c"),
        None
    );

    let mut headers = hyper::HeaderMap::new();
    headers.insert(
        "authorization",
        auth.replace("elasticloadbalancing", "ec2").parse().unwrap(),
    );
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let call = Call::parse(
        &headers,
        None,
        b"Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2&Filter.1.Name=a+b%2Fc",
    );
    assert_eq!(
        (call.service.as_str(), call.region.as_str()),
        ("ec2", "us-east-1")
    );
    assert_eq!(call.action, "DescribeInstances");
    assert_eq!(call.list("InstanceId"), ["i-1", "i-2"]);
    assert_eq!(call.param("Filter.1.Name"), Some("a b/c"));
    assert!(call.is_read());

    let mut headers = hyper::HeaderMap::new();
    headers.insert(
        "authorization",
        auth.replace("elasticloadbalancing", "dynamodb")
            .parse()
            .unwrap(),
    );
    headers.insert(
        "x-amz-target",
        "DynamoDB_20120810.DescribeTable".parse().unwrap(),
    );
    let call = Call::parse(&headers, None, br#"{"TableName":"t1"}"#);
    assert_eq!(
        (call.service.as_str(), call.action.as_str()),
        ("dynamodb", "DescribeTable")
    );
    assert_eq!(call.json_str("TableName"), Some("t1"));

    // Which bucket a call draws from.
    let call = |service: &str, action: &str| Call {
        service: service.into(),
        region: "us-east-1".into(),
        action: action.into(),
        ..Call::default()
    };
    let b = |c: Call| aws_proxy::bucket_of(&c);
    assert_eq!(
        b(call("elasticloadbalancing", "DescribeTargetHealth")),
        Some(("elb/us-east-1".into(), ELB_DESCRIBE))
    );
    assert_eq!(
        b(call("elasticloadbalancing", "DescribeLoadBalancers"))
            .unwrap()
            .0,
        "elb/us-east-1",
        "one account-level bucket for every ELB Describe*"
    );
    assert_eq!(
        b(call("ec2", "DescribeVpcs")),
        Some(("ec2/us-east-1/DescribeVpcs".into(), EC2_NON_MUTATING)),
        "one bucket per EC2 action"
    );
    assert_eq!(
        b(call("ssm", "GetParameters")),
        Some(("ssm/us-east-1".into(), SSM_GET_PARAMETERS))
    );
    assert_eq!(b(call("ssm", "PutParameter")), None);
    assert_eq!(b(call("ec2", "RunInstances")), None);

    // AWS's responses, read back.
    let lbs = r#"<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeLoadBalancersResult><LoadBalancers><member><LoadBalancerArn>arn:lb/1</LoadBalancerArn><SecurityGroups><member>sg-1</member><member>sg-2</member></SecurityGroups></member><member><LoadBalancerArn>arn:lb/2</LoadBalancerArn></member></LoadBalancers></DescribeLoadBalancersResult></DescribeLoadBalancersResponse>"#;
    assert_eq!(
        aws_proxy::load_balancer_groups(lbs),
        [
            (
                "arn:lb/1".to_string(),
                vec!["sg-1".to_string(), "sg-2".to_string()]
            ),
            ("arn:lb/2".to_string(), vec![])
        ]
    );
    assert_eq!(
        aws_proxy::xml_texts(
            "<a xmlns=\"x\"><b><instanceId>i-9</instanceId></b></a>",
            "instanceId"
        ),
        ["i-9"]
    );
    assert_eq!(aws_proxy::crc32(b"123456789"), 0xcbf4_3926);
}

#[test]
fn buckets_hold_their_capacity_and_refill_at_their_rate() {
    let limits = Limits {
        capacity: 40.0,
        refill_per_sec: 10.0,
    };
    let t0 = Instant::now();
    let mut b = TokenBucket::new(limits, t0);
    assert_eq!((0..40).filter(|_| b.take(t0)).count(), 40, "a full bucket");
    assert!(!b.take(t0), "then empty");
    assert!(!b.take(t0 + Duration::from_millis(50)), "half a token back");
    assert!(b.take(t0 + Duration::from_millis(100)), "one token back");
    // Four seconds refill it, never above its capacity.
    let later = t0 + Duration::from_secs(60);
    assert_eq!((0..100).filter(|_| b.take(later)).count(), 40);
    // A throttled call takes nothing.
    let mut b = TokenBucket::new(limits, t0);
    for _ in 0..200 {
        b.take(t0);
    }
    assert!(b.take(t0 + Duration::from_millis(100)));
}

#[test]
fn seeded_draws_do_not_depend_on_the_order_of_calls() {
    let seed = aws_proxy::DEFAULT_SEED;
    let a = aws_proxy::budget(seed, "role", "r1", IAM_NOT_YET);
    for _ in 0..3 {
        assert_eq!(aws_proxy::budget(seed, "role", "r1", IAM_NOT_YET), a);
    }
    for name in ["a", "b", "c", "d", "e", "f"] {
        let n = aws_proxy::budget(seed, "eni", name, ENI_LINGER);
        assert!((ENI_LINGER.0..=ENI_LINGER.1).contains(&n), "{n}");
    }
    let errors = (1..=10_000)
        .filter(|n| aws_proxy::injects_error(seed, "ec2", "DescribeInstances", *n, 0.02))
        .count();
    assert!((120..=280).contains(&errors), "about 2%: {errors}");
    let again = (1..=10_000)
        .filter(|n| aws_proxy::injects_error(seed, "ec2", "DescribeInstances", *n, 0.02))
        .count();
    assert_eq!(errors, again);
    assert!(!aws_proxy::injects_error(
        seed,
        "ec2",
        "DescribeInstances",
        1,
        0.0
    ));
}

/// Sends `n` calls at once; returns the successes, each failure's
/// (code, message, status), and how long it took.
fn burst<F, Fut, T, E>(
    rt: &tokio::runtime::Runtime,
    n: usize,
    call: F,
) -> (usize, Vec<(String, String, u16)>, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>> + Send + 'static,
    T: Send + 'static,
    E: ProvideErrorMetadata + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..n).map(|_| rt.spawn(call())).collect();
    let mut ok = 0;
    let mut failed = Vec::new();
    for t in tasks {
        match rt.block_on(t).unwrap() {
            Ok(_) => ok += 1,
            Err(e) => failed.push(meta(&e)),
        }
    }
    (ok, failed, started.elapsed())
}

#[test]
fn bursts_are_throttled_with_each_services_own_error() {
    let moto = Moto::start_with(None);
    let proxy = AwsProxy::start(&moto.direct_url, only(|c| c.throttling = true));
    let rt = runtime();
    let c = through(&rt, &moto, &proxy);
    let allowed = |limits: Limits, took: Duration| {
        (limits.capacity + took.as_secs_f64() * limits.refill_per_sec + 1.0) as usize
    };

    // 60 rapid DescribeTargetGroups: 40 pass, the rest are throttled.
    let elb = c.elb.clone();
    let (ok, failed, took) = burst(&rt, 60, || elb.describe_target_groups().send());
    assert!(
        ok >= 40 && ok <= allowed(ELB_DESCRIBE, took),
        "{ok} passed in {took:?}"
    );
    assert!(!failed.is_empty(), "nothing throttled in {took:?}");
    for f in &failed {
        assert_eq!(f, &("Throttling".into(), "Rate exceeded".into(), 400));
    }

    // EC2: 100 per action, then RequestLimitExceeded with a 503; another
    // action has its own bucket.
    let ec2 = c.ec2.clone();
    let (ok, failed, took) = burst(&rt, 150, || ec2.describe_vpcs().send());
    assert!(
        ok >= 100 && ok <= allowed(EC2_NON_MUTATING, took),
        "{ok} passed in {took:?}"
    );
    assert!(!failed.is_empty(), "nothing throttled in {took:?}");
    for f in &failed {
        assert_eq!((f.0.as_str(), f.2), ("RequestLimitExceeded", 503), "{f:?}");
    }
    rt.block_on(c.ec2.describe_subnets().send())
        .expect("DescribeSubnets has a bucket of its own");
    rt.block_on(c.ec2.create_key_pair().key_name("k").send())
        .expect("mutating actions are not in the Describe bucket");

    // Parameter Store: 40 per second shared by GetParameter and GetParameters.
    rt.block_on(
        c.ssm
            .put_parameter()
            .name("p")
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send(),
    )
    .unwrap();
    let ssm = c.ssm.clone();
    let (ok, failed, took) = burst(&rt, 90, || ssm.get_parameter().name("p").send());
    assert!(
        ok >= 40 && ok <= allowed(SSM_GET_PARAMETERS, took),
        "{ok} passed in {took:?}"
    );
    assert!(!failed.is_empty(), "nothing throttled in {took:?}");
    for f in &failed {
        assert_eq!(
            f,
            &("ThrottlingException".into(), "Rate exceeded".into(), 400)
        );
    }
    let throttled =
        proxy.count("throttled_elb") + proxy.count("throttled_ec2") + proxy.count("throttled_ssm");
    assert!(throttled >= 3, "{:?}", proxy.counts());

    // A second later about ten ELB tokens are back.
    std::thread::sleep(Duration::from_secs(1));
    let mut ok = 0;
    while rt.block_on(c.elb.describe_target_groups().send()).is_ok() {
        ok += 1;
        assert!(ok < 100, "never throttled again");
    }
    assert!(ok >= 5, "{ok} tokens after a second");
}

#[test]
fn new_iam_entities_and_ec2_ids_are_not_found_at_first() {
    let moto = Moto::start_with(None);
    let config = only(|c| {
        c.iam_consistency = true;
        c.ec2_consistency = true;
        c.lingering_interfaces = true;
    });
    let seed = config.seed;
    let proxy = AwsProxy::start(&moto.direct_url, config);
    let rt = runtime();
    let c = through(&rt, &moto, &proxy);

    // IAM: AttachRolePolicy right after CreateRole and CreatePolicy.
    rt.block_on(
        c.iam
            .create_role()
            .role_name("r")
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send(),
    )
    .unwrap();
    let policy = rt
        .block_on(
            c.iam
                .create_policy()
                .policy_name("p")
                .policy_document(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameters","Resource":"*"}]}"#,
                )
                .send(),
        )
        .unwrap();
    let arn = policy.policy().unwrap().arn().unwrap().to_string();
    let not_yet = aws_proxy::budget(seed, "role", "r", IAM_NOT_YET).max(aws_proxy::budget(
        seed,
        "policy",
        "p",
        IAM_NOT_YET,
    ));
    let mut refused = 0;
    loop {
        match rt.block_on(
            c.iam
                .attach_role_policy()
                .role_name("r")
                .policy_arn(&arn)
                .send(),
        ) {
            Ok(_) => break,
            Err(e) => {
                let (code, message, status) = meta(&e);
                assert_eq!((code.as_str(), status), ("NoSuchEntity", 404), "{message}");
                assert!(
                    message.contains("The role with name r cannot be found")
                        || message.contains("does not exist or is not attachable"),
                    "{message}"
                );
                refused += 1;
                assert!(refused <= 2, "still refused");
            }
        }
    }
    assert_eq!(refused, not_yet);

    // A new instance profile: AddRoleToInstanceProfile, then the first group.
    rt.block_on(
        c.iam
            .create_instance_profile()
            .instance_profile_name("i")
            .send(),
    )
    .unwrap();
    let mut refused = 0;
    while let Err(e) = rt.block_on(
        c.iam
            .add_role_to_instance_profile()
            .instance_profile_name("i")
            .role_name("r")
            .send(),
    ) {
        let (code, message, _) = meta(&e);
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(message, "Instance Profile i cannot be found.");
        refused += 1;
        assert!(refused <= 2, "still refused");
    }
    assert_eq!(
        refused,
        aws_proxy::budget(seed, "profile", "i", IAM_NOT_YET)
    );
    let e = rt
        .block_on(
            c.asg
                .create_auto_scaling_group()
                .auto_scaling_group_name("g")
                .launch_template(
                    aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                        .launch_template_name("lt")
                        .build(),
                )
                .min_size(1)
                .max_size(1)
                .availability_zones("us-east-1a")
                .send(),
        )
        .unwrap_err();
    let (code, message, status) = meta(&e);
    assert_eq!((code.as_str(), status), ("ValidationError", 400));
    assert!(
        message.contains("Invalid IAM Instance Profile"),
        "{message}"
    );

    // EC2: a new security group and a new instance, not found once.
    let group = |name: &str| {
        rt.block_on(
            c.ec2
                .create_security_group()
                .group_name(name)
                .description("test")
                .send(),
        )
        .unwrap()
        .group_id()
        .unwrap()
        .to_string()
    };
    let sg = group("sg-one");
    let authorize = || {
        rt.block_on(
            c.ec2
                .authorize_security_group_ingress()
                .group_id(&sg)
                .ip_permissions(
                    aws_sdk_ec2::types::IpPermission::builder()
                        .ip_protocol("tcp")
                        .from_port(80)
                        .to_port(80)
                        .ip_ranges(
                            aws_sdk_ec2::types::IpRange::builder()
                                .cidr_ip("203.0.113.7/32")
                                .build(),
                        )
                        .build(),
                )
                .send(),
        )
    };
    let e = authorize().unwrap_err();
    assert_eq!(
        meta(&e),
        (
            "InvalidGroup.NotFound".into(),
            format!("The security group '{sg}' does not exist"),
            400
        )
    );
    authorize().expect("found the second time");

    let run = rt
        .block_on(
            c.ec2
                .run_instances()
                .image_id("ami-12c6146b")
                .min_count(1)
                .max_count(1)
                .send(),
        )
        .unwrap();
    let id = run.instances()[0].instance_id().unwrap().to_string();
    let e = rt
        .block_on(c.ec2.describe_instances().instance_ids(&id).send())
        .unwrap_err();
    assert_eq!(
        meta(&e),
        (
            "InvalidInstanceID.NotFound".into(),
            format!("The instance ID '{id}' does not exist"),
            400
        )
    );
    rt.block_on(c.ec2.describe_instances().instance_ids(&id).send())
        .expect("found the second time");

    // A deleted load balancer's interfaces hold its security group a while.
    let lb_sg = group("lb-sg");
    let subnets: Vec<String> = rt
        .block_on(c.ec2.describe_subnets().send())
        .unwrap()
        .subnets()
        .iter()
        .take(2)
        .map(|s| s.subnet_id().unwrap().to_string())
        .collect();
    let lb = rt
        .block_on(
            c.elb
                .create_load_balancer()
                .name("lb")
                .set_subnets(Some(subnets))
                .security_groups(&lb_sg)
                .send(),
        )
        .unwrap();
    let lb_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    rt.block_on(
        c.elb
            .delete_load_balancer()
            .load_balancer_arn(&lb_arn)
            .send(),
    )
    .unwrap();
    let mut refused = 0;
    while let Err(e) = rt.block_on(c.ec2.delete_security_group().group_id(&lb_sg).send()) {
        assert_eq!(
            meta(&e),
            (
                "DependencyViolation".into(),
                format!("resource {lb_sg} has a dependent object"),
                400
            )
        );
        refused += 1;
        assert!(refused <= 3, "still in use");
    }
    assert_eq!(refused, aws_proxy::budget(seed, "eni", &lb_sg, ENI_LINGER));
    rt.block_on(c.ec2.delete_security_group().group_id(&sg).send())
        .expect("another group is free");

    let counts = proxy.counts();
    assert_eq!(counts["ec2_group_not_found"], 1, "{counts:?}");
    assert_eq!(counts["ec2_instance_not_found"], 1, "{counts:?}");
    assert_eq!(counts["asg_invalid_profile"], 1, "{counts:?}");
    assert!(counts["iam_no_such_entity"] >= 2, "{counts:?}");
    assert!(counts["sg_dependency_violation"] >= 2, "{counts:?}");
}

#[test]
fn tables_are_creating_then_deleting_for_a_few_calls() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TableStatus,
    };
    let moto = Moto::start_with(None);
    let config = only(|c| c.table_transitions = true);
    let seed = config.seed;
    let proxy = AwsProxy::start(&moto.direct_url, config);
    let rt = runtime();
    let c = through(&rt, &moto, &proxy);
    let west = aws_sdk_dynamodb::Client::from_conf(
        c.ddb
            .config()
            .to_builder()
            .region(aws_sdk_dynamodb::config::Region::new("us-west-2"))
            .build(),
    );
    let create_in = |ddb: &aws_sdk_dynamodb::Client| {
        rt.block_on(
            ddb.create_table()
                .table_name("t")
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("k")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("k")
                        .key_type(KeyType::Hash)
                        .build()
                        .unwrap(),
                )
                .billing_mode(BillingMode::PayPerRequest)
                .send(),
        )
    };
    let create = || create_in(&c.ddb);
    let describe = || rt.block_on(c.ddb.describe_table().table_name("t").send());
    let delete = || rt.block_on(c.ddb.delete_table().table_name("t").send());

    let created = create().unwrap();
    let arn = created
        .table_description()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_string();
    assert_eq!(
        created.table_description().unwrap().table_status(),
        Some(&TableStatus::Creating)
    );
    let e = delete().unwrap_err();
    let (code, message, status) = meta(&e);
    assert_eq!((code.as_str(), status), ("ResourceInUseException", 400));
    assert!(message.contains("Table is being created: t"), "{message}");
    let mut creating = 1;
    while describe().unwrap().table().unwrap().table_status() == Some(&TableStatus::Creating) {
        creating += 1;
        assert!(creating <= 3);
    }
    assert_eq!(
        creating,
        aws_proxy::budget(seed, "creating", "t", TABLE_TRANSITION)
    );
    rt.block_on(c.ddb.list_tags_of_resource().resource_arn(&arn).send())
        .expect("an active table's tags");

    let deleted = delete().unwrap();
    assert_eq!(
        deleted.table_description().unwrap().table_status(),
        Some(&TableStatus::Deleting)
    );
    // A table of that name in another region is another table.
    let other = create_in(&west).expect("us-west-2 has no such table");
    assert!(
        other
            .table_description()
            .unwrap()
            .table_arn()
            .unwrap()
            .contains(":us-west-2:")
    );
    let e = create().unwrap_err();
    assert_eq!(meta(&e).0, "ResourceInUseException");
    assert_eq!(meta(&e).1, "Table already exists: t");
    let mut deleting = 1;
    loop {
        match describe() {
            Ok(d) => {
                let t = d.table().unwrap();
                assert_eq!(t.table_status(), Some(&TableStatus::Deleting));
                assert_eq!(t.table_arn(), Some(arn.as_str()), "the last description");
                deleting += 1;
                assert!(deleting <= 3);
            }
            Err(e) => {
                assert_eq!(meta(&e).0, "ResourceNotFoundException");
                break;
            }
        }
    }
    assert_eq!(
        deleting,
        aws_proxy::budget(seed, "deleting", "t", TABLE_TRANSITION)
    );
    create().expect("gone: it can be created again");
    let counts = proxy.counts();
    assert!(
        counts["ddb_creating"] >= 1 && counts["ddb_deleting"] >= 1,
        "{counts:?}"
    );
}

#[test]
fn internal_errors_are_answered_without_reaching_moto() {
    let moto = Moto::start_with(None);
    let proxy = AwsProxy::start(&moto.direct_url, only(|c| c.internal_error_rate = 1.0));
    let rt = runtime();
    let c = through(&rt, &moto, &proxy);
    let e = rt.block_on(c.ec2.describe_vpcs().send()).unwrap_err();
    assert_eq!((meta(&e).0.as_str(), meta(&e).2), ("InternalError", 500));
    let e = rt.block_on(c.iam.list_roles().send()).unwrap_err();
    assert_eq!((meta(&e).0.as_str(), meta(&e).2), ("InternalFailure", 500));
    let e = rt
        .block_on(c.ssm.get_parameter().name("x").send())
        .unwrap_err();
    assert_eq!(
        (meta(&e).0.as_str(), meta(&e).2),
        ("InternalServerError", 500)
    );
    let e = rt.block_on(c.ddb.list_tables().send()).unwrap_err();
    assert_eq!(
        (meta(&e).0.as_str(), meta(&e).2),
        ("InternalServerError", 500)
    );
    assert_eq!(proxy.count("internal_errors"), 4);
    assert_eq!(proxy.count("forwarded"), 0, "{:?}", proxy.counts());
    // Writes are never failed.
    rt.block_on(c.ec2.create_key_pair().key_name("k").send())
        .unwrap();
    assert_eq!(proxy.count("forwarded"), 1);
}

#[test]
fn a_default_proxy_is_in_front_of_moto_unless_turned_off() {
    let moto = Moto::start();
    if aws_proxy::enabled() {
        let proxy = moto.proxy().expect("a proxy");
        assert_eq!(moto.url, proxy.url);
        assert_ne!(moto.url, moto.direct_url);
        let wanted = Config::from_env().unwrap();
        assert_eq!(
            format!("{:?}", proxy.config()),
            format!("{wanted:?}"),
            "as RESILIENT_AWS_PROXY says"
        );
        // The hook sees every call, numbered.
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        proxy.set_hook(move |p| log.lock().unwrap().push(p));
        let rt = runtime();
        rt.block_on(resilient::internals::aws::connect(&moto.aws()))
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        assert!(seen.len() >= 2, "{seen:?}");
        assert_eq!(seen[0], aws_proxy::CallPoint::Before(1));
        assert_eq!(proxy.calls(), seen.len() as u64 / 2);
    } else {
        assert!(moto.proxy().is_none());
        assert_eq!(moto.url, moto.direct_url);
    }
}
