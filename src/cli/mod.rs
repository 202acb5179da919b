//! Command-line parsing and the commands.

mod compare;
mod crash_hook;
mod ending;
mod paths;
mod preflight;
mod recover;
mod run;
mod scenarios;
pub(crate) mod supervise;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use colored::Colorize;
use resilient::settings::{Backend, DEFAULT_PREFIX, DEFAULT_TIME_SCALE, Settings};
use resilient::{Exit, Host, HostOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Deploy a load-balanced web service, break it in realistic ways, watch what
/// customers and the load balancer see, repair it, and tear it down — all from
/// editable Rhai scripts.
#[derive(Debug, Parser)]
#[command(name = "resilient", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Which cloud to use: `local` (embedded, on 127.0.0.1) or `aws`.
    #[arg(long, global = true, default_value = "local", value_parser = parse_backend)]
    pub backend: Backend,
    /// Prefix every resource name is derived from.
    #[arg(long, global = true, default_value = DEFAULT_PREFIX)]
    pub prefix: String,
    /// Local cloud: wall seconds per cloud second (0.05, the default, runs twenty times faster than AWS).
    #[arg(long, global = true, default_value_t = DEFAULT_TIME_SCALE)]
    pub time_scale: f64,
    /// Answer every prompt with its default (also implied when stdin is not a terminal).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// AWS: the region (else AWS_REGION or your profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS: a named profile of your AWS config files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS: send every call to this endpoint (an emulator such as moto); also AWS_ENDPOINT_URL.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// AWS: your public IP for the port-80 rule (else looked up over HTTPS at checkip.amazonaws.com).
    #[arg(long, global = true)]
    pub my_ip: Option<std::net::Ipv4Addr>,
    /// Script operations allowed per run or REPL input (0 = no limit); time
    /// blocked in cloud calls, waits and load does not count.
    #[arg(long, global = true, default_value_t = resilient::host::Limits::DEFAULT_MAX_OPERATIONS)]
    pub max_operations: u64,
    /// Logs to stderr: -v for ours (waits, health checks, scaling), -vv for the
    /// AWS SDK's calls and retries too (RUST_LOG overrides both).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Options of `run` only: what a whole run leaves behind (the REPL opens a
/// journal with `:journal FILE`).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Leave injected faults in place when a run fails, is interrupted or ends
    /// without `failure::reset()` (by default they are rolled back).
    #[arg(long)]
    pub keep_faults: bool,
    /// Write the run's journal (JSON Lines: header, events, outcome) to FILE.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Write the run's checks as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the run's report (one self-contained HTML file) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the run's summary (JSON: verdict, objective, every fault
    /// measured, phases, checks; docs/summary.schema.json) to FILE.
    #[arg(long, value_name = "FILE.json")]
    pub summary: Option<PathBuf>,
    /// Compare the run with a baseline (a journal or a summary) at its end,
    /// as `resilient compare` does (the report shows it too): exit 5 on a
    /// regression.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: the share a figure may get worse by.
    #[arg(
        long,
        default_value_t = 0.25,
        value_name = "SHARE",
        requires = "baseline"
    )]
    pub tolerance: f64,
    /// Run the interpreter without its supervisor (for debugging; also
    /// `RESILIENT_NO_SUPERVISOR=1`): a crash then leaves the rollback, the
    /// outcome and the report undone.
    #[arg(long)]
    pub no_supervisor: bool,
}

fn parse_backend(s: &str) -> std::result::Result<Backend, String> {
    s.parse().map_err(|e: resilient::Error| e.to_string())
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a script, e.g. `resilient run scripts/full_demo.rhai`.
    Run {
        /// The script file.
        file: PathBuf,
        /// What the run leaves behind.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Compile scripts and the modules they import, without running; report every error.
    Check {
        /// The script files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Open the interactive REPL (the default with no command).
    Repl,
    /// Make the HTML report of a run from its journal (also after a crash).
    Report {
        /// The journal (`run --journal FILE`).
        journal: PathBuf,
        /// The HTML file to write.
        #[arg(long, short, value_name = "FILE.html")]
        output: PathBuf,
        /// Show the run against a baseline (a journal or a summary), as
        /// `resilient compare` does.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// With --baseline: the share a figure may get worse by.
        #[arg(
            long,
            default_value_t = 0.25,
            value_name = "SHARE",
            requires = "baseline"
        )]
        tolerance: f64,
    },
    /// Undo what a killed run's journal says was injected and not undone
    /// (its supervisor was killed too, or the machine rebooted), and record
    /// its outcome. Idempotent; on the local cloud there is nothing to undo.
    Recover {
        /// The run's journal (`run --journal FILE`, or the scratch journal
        /// a killed run names).
        journal: PathBuf,
    },
    /// Print the JSON Schema of a journal line (docs/journal.schema.json).
    JournalSchema,
    /// Print a run's summary from its journal (JSON: verdict — pass, fail or
    /// inconclusive — with reasons, the objective, every fault measured in
    /// cloud ms, each phase's figures, checks, what is left deployed).
    Summary {
        /// The journal (`run --journal FILE`).
        journal: PathBuf,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE.json")]
        output: Option<PathBuf>,
    },
    /// Print the JSON Schema of a summary (docs/summary.schema.json).
    SummarySchema,
    /// Compare a run with a baseline (journals or summaries): per fault
    /// (matched by kind and order) and per phase, the figures side by side
    /// with their change; exit 5 on a regression beyond the tolerance.
    Compare {
        /// The baseline's journal or summary.
        base: PathBuf,
        /// The new run's journal or summary.
        new: PathBuf,
        /// The share a figure may get worse by (durations also get one
        /// window or health-check interval of slack).
        #[arg(long, default_value_t = 0.25, value_name = "SHARE")]
        tolerance: f64,
    },
    /// List the scenario library: each scenario's name, title, hypothesis
    /// and how long it takes, from the headers of the `.rhai` files in
    /// `examples/` here (or --dir).
    Scenarios {
        /// The directory of scenarios (default: `examples/` in the current directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Every header field as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a new scenario, NAME.rhai, from a commented template that runs
    /// as it is (into `examples/` when there is one here, else here).
    New {
        /// The scenario's name: lower-case letters, digits, `_` and `-`.
        name: String,
        /// Write into this directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// List what a deploy would create (and its rough hourly cost on AWS).
    Plan,
    /// Check before anything is created what would stop a deploy on AWS:
    /// credentials, zones offering t3.micro, names someone else holds,
    /// missing permissions (exit 1 when a check fails).
    Preflight {
        /// Print instead the IAM policy the tool needs (docs/aws-policy.json),
        /// filled in for your account, region and --prefix.
        #[arg(long)]
        policy: bool,
    },
    /// Write the script API reference (Markdown, or JSON with --json) from the doc comments.
    Docs {
        /// Machine-readable JSON instead of Markdown.
        #[arg(long)]
        json: bool,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write Rhai definition files (for editor completion) into DIR.
    Defs {
        /// The directory to write into (created if missing).
        dir: PathBuf,
    },
    /// Print shell completions for the command line.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Decides color per stream: stdout's when stdout is a terminal, stderr's
/// when stderr is, neither when `NO_COLOR` is set.
pub fn setup_color() {
    resilient::term::setup_color();
}

/// The `error:` label, colored when allowed.
pub fn error_label() -> String {
    "error:".red().bold().to_string()
}

impl GlobalArgs {
    fn options(&self) -> HostOptions {
        let batch = self.yes || !std::io::stdin().is_terminal();
        HostOptions {
            settings: Settings {
                backend: self.backend,
                prefix: self.prefix.clone(),
                time_scale: self.time_scale,
                aws: resilient::settings::AwsSettings {
                    region: self.region.clone(),
                    profile: self.profile.clone(),
                    endpoint_url: self.endpoint_url.clone(),
                    my_ip: self.my_ip.map(|ip| ip.to_string()),
                    credentials: None,
                },
                ..Settings::default()
            },
            batch,
            limits: resilient::host::Limits {
                max_operations: self.max_operations,
            },
            quiet: false,
            // The person at the terminal answers prompts (batch: the defaults).
            answerer: (!batch)
                .then(|| std::sync::Arc::new(resilient::host::prompts::TerminalAnswerer) as _),
        }
    }

    /// The command that destroys what this deployment left, with the options
    /// that reach it.
    pub(crate) fn destroy_command(&self, settings: &Settings) -> String {
        let mut cmd = format!(
            "resilient run scripts/destroy.rhai --backend {} --prefix {}",
            settings.backend, settings.prefix
        );
        let aws = &settings.aws;
        for (flag, value) in [
            ("--region", &aws.region),
            ("--profile", &aws.profile),
            ("--endpoint-url", &aws.endpoint_url),
        ] {
            if let Some(v) = value {
                cmd.push_str(&format!(" {flag} {v}"));
            }
        }
        cmd
    }
}

/// Sends logs to stderr: off by default, `-v`/`-vv`, or as RUST_LOG says
/// (`target=level` directives separated by commas, or a bare level).
fn init_logs(verbose: u8) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let spec = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec,
        _ => match verbose {
            0 => return,
            1 => "resilient=debug".to_string(),
            _ => "resilient=trace,aws_smithy_runtime=debug,aws_smithy_runtime_api=debug,aws_config=debug"
                .to_string(),
        },
    };
    let filter: Targets = match spec.parse() {
        Ok(filter) => filter,
        Err(e) => {
            resilient::errln!(
                "{} RUST_LOG={spec:?} is not a log filter ({e}): write `target=level` directives separated by commas; logs stay off",
                "warning:".yellow().bold()
            );
            return;
        }
    };
    let ansi = resilient::term::stderr_color();
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(ansi),
        )
        .with(filter)
        .try_init();
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Exit> {
    init_logs(cli.global.verbose);
    match cli.command.unwrap_or(Command::Repl) {
        Command::Run { file, run } => run::run_file(&cli.global, &run, &file),
        Command::Check { files } => check(&cli.global, &files),
        Command::Repl => {
            let host = new_host(cli.global.options())?;
            resilient::repl::run(host).context("the REPL failed")?;
            Ok(Exit::Success)
        }
        Command::Plan => plan(&cli.global),
        Command::Scenarios { dir, json } => scenarios::list(dir.as_deref(), json),
        Command::New { name, dir } => scenarios::new(&name, dir.as_deref()),
        Command::Preflight { policy } => preflight::preflight(&cli.global, policy),
        Command::Report {
            journal,
            output,
            baseline,
            tolerance,
        } => {
            let mut inputs = vec![paths::Named {
                role: "the journal",
                path: &journal,
            }];
            if let Some(path) = &baseline {
                inputs.push(paths::Named {
                    role: "--baseline",
                    path,
                });
            }
            paths::check(
                &inputs,
                &[paths::Named {
                    role: "--output",
                    path: &output,
                }],
            )?;
            let comparison = match &baseline {
                Some(base) => {
                    let tolerance = compare::checked(tolerance)?;
                    let (b, n) = (compare::read(base)?, compare::read(&journal)?);
                    Some(resilient::verdict::compare::compare(&b, &n, tolerance))
                }
                None => None,
            };
            run::report(&journal, &output, comparison.as_ref())?;
            Ok(Exit::Success)
        }
        Command::Summary { journal, output } => {
            let mut outputs = Vec::new();
            if let Some(path) = &output {
                outputs.push(paths::Named {
                    role: "--output",
                    path,
                });
            }
            paths::check(
                &[paths::Named {
                    role: "the journal",
                    path: &journal,
                }],
                &outputs,
            )?;
            run::summary(&journal, output.as_deref())?;
            Ok(Exit::Success)
        }
        Command::Compare {
            base,
            new,
            tolerance,
        } => compare::compare(&base, &new, tolerance),
        Command::SummarySchema => {
            resilient::out!("{}", resilient::verdict::summary::json_schema());
            Ok(Exit::Success)
        }
        Command::Recover { journal } => recover::recover(&cli.global, &journal),
        Command::JournalSchema => {
            // A closed pipe (`| head`) is not an error worth reporting.
            resilient::out!("{}", resilient::journal::json_schema());
            Ok(Exit::Success)
        }
        Command::Docs { json, output } => docs(&cli.global, json, output.as_deref()),
        Command::Defs { dir } => defs(&cli.global, &dir),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "resilient", &mut script);
            use std::io::Write;
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = std::io::stdout().write_all(&script);
            Ok(Exit::Success)
        }
    }
}

pub(crate) fn new_host(options: HostOptions) -> Result<Host> {
    Host::new(options).context("cannot start")
}

fn check(global: &GlobalArgs, files: &[PathBuf]) -> Result<Exit> {
    let host = new_host(global.options())?;
    let mut count = 0;
    for file in files {
        for e in host.check_file(file) {
            resilient::err!("{e}");
            count += 1;
        }
    }
    if count == 0 {
        resilient::outln!("{} {} file(s) compile", "ok:".green().bold(), files.len());
        Ok(Exit::Success)
    } else {
        resilient::errln!("{count} error(s)");
        Ok(Exit::Failure)
    }
}

fn plan(global: &GlobalArgs) -> Result<Exit> {
    let mut host = new_host(global.options())?;
    host.eval(
        r#"let rows = deploy::plan();
           ui::table(rows, ["kind", "name", "usd_per_hour"]);
           let total = 0.0; for r in rows { total += r.usd_per_hour; }
           ui::say(`about ${total} USD per hour on ${deploy::settings().backend}`);"#,
        "<plan>",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .map(|_| Exit::Success)
}

fn docs(global: &GlobalArgs, json: bool, output: Option<&std::path::Path>) -> Result<Exit> {
    let host = new_host(global.options())?;
    let docs = resilient::host::docs::function_docs(host.engine());
    let text = if json {
        serde_json::to_string_pretty(&docs)? + "\n"
    } else {
        resilient::host::docs::markdown(&docs)
    };
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => resilient::out!("{text}"),
    }
    Ok(Exit::Success)
}

fn defs(global: &GlobalArgs, dir: &std::path::Path) -> Result<Exit> {
    let host = new_host(global.options())?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    host.engine()
        .definitions()
        .with_headers(true)
        .include_standard_packages(false)
        .write_to_dir(dir)
        .with_context(|| format!("cannot write definitions into {}", dir.display()))?;
    resilient::outln!("wrote Rhai definition files into {}", dir.display());
    Ok(Exit::Success)
}
