//! Command-line parsing and the commands.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use colored::Colorize;
use resilient::settings::{Backend, DEFAULT_PREFIX, DEFAULT_TIME_SCALE, Settings};
use resilient::{Host, HostOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

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
    /// Local cloud: wall seconds per cloud second (0.1 runs ten times faster than AWS).
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
    /// Leave injected faults in place when a run fails, is interrupted or ends
    /// without `failure::reset()` (by default they are rolled back).
    #[arg(long, global = true)]
    pub keep_faults: bool,
    /// Write the run's journal (JSON Lines: header, events, outcome) to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Write the run's checks as JUnit XML to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the run's report (one self-contained HTML file) to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub report: Option<PathBuf>,
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
    },
    /// List what a deploy would create (and its rough hourly cost on AWS).
    Plan,
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

/// Turns color off unless stdout is a terminal and `NO_COLOR` is unset.
pub fn setup_color() {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    colored::control::set_override(std::io::stdout().is_terminal() && !no_color);
}

/// The `error:` label, colored when allowed.
pub fn error_label() -> String {
    "error:".red().bold().to_string()
}

impl GlobalArgs {
    fn options(&self) -> HostOptions {
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
            batch: self.yes || !std::io::stdin().is_terminal(),
            limits: resilient::host::Limits {
                max_operations: self.max_operations,
            },
            quiet: false,
        }
    }

    /// The command that destroys what this deployment left, with the options
    /// that reach it.
    fn destroy_command(&self, settings: &Settings) -> String {
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

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command.unwrap_or(Command::Repl) {
        Command::Run { file } => run_file(&cli.global, &file),
        Command::Check { files } => check(&cli.global, &files),
        Command::Repl => {
            let host = new_host(cli.global.options())?;
            resilient::repl::run(host).context("the REPL failed")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan => plan(&cli.global),
        Command::Report { journal, output } => {
            report(&journal, &output)?;
            Ok(ExitCode::SUCCESS)
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
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn new_host(options: HostOptions) -> Result<Host> {
    Host::new(options).context("cannot start")
}

fn run_file(global: &GlobalArgs, file: &std::path::Path) -> Result<ExitCode> {
    let mut host = new_host(global.options())?;
    // A report is made from a journal: without --journal, a scratch one.
    let scratch = (global.report.is_some() && global.journal.is_none())
        .then(|| std::env::temp_dir().join(format!("resilient-{}.jsonl", std::process::id())));
    let journal_path = global.journal.clone().or_else(|| scratch.clone());
    let journal = match &journal_path {
        Some(path) => {
            let journal = resilient::journal::Journal::create(
                path,
                &host.session().settings(),
                Some(&file.display().to_string()),
            )
            .with_context(|| format!("cannot write the journal {}", path.display()))?;
            let journal = std::sync::Arc::new(journal);
            host.add_sink(journal.clone());
            Some(journal)
        }
        None => None,
    };
    host.interrupt_on_ctrl_c(true);
    let result = host.run_file(file);
    let session = host.session().clone();
    let interrupted = session.interrupt_flag().load(Ordering::SeqCst);
    let stopped = session.stop_reason();
    // Faults never outlive the run that injected them.
    let faults = session.faults();
    if !faults.is_empty() {
        if global.keep_faults {
            eprintln!(
                "{} faults left in place (--keep-faults): {}",
                "!".yellow().bold(),
                faults.join(", ")
            );
        } else {
            match session.rollback_faults() {
                Ok(undone) => resilient::outln!(
                    "{}",
                    format!(
                        "rolled back the faults this run left: {}",
                        undone.join(", ")
                    )
                    .dimmed()
                ),
                Err(e) => eprintln!(
                    "{} could not roll back the faults ({}): {e}; run `failure::reset()` or destroy the deployment",
                    error_label(),
                    faults.join(", ")
                ),
            }
        }
    }
    let settings = session.settings();
    let left = session.resources();
    let left_now = left.as_ref().ok().cloned();
    if settings.backend == Backend::Local {
        if left.as_ref().is_ok_and(|l| !l.is_empty()) {
            resilient::outln!(
                "{}",
                "The script left resources running on the local cloud: stopping them.".dimmed()
            );
        }
    } else {
        report_left_on_aws(global, &settings, left);
    }
    host.shutdown().context("stopping the local cloud")?;
    let checks = session.checks();
    let failed = checks.iter().filter(|c| !c.passed).count();
    if !checks.is_empty() {
        resilient::outln!("checks: {} passed, {failed} failed", checks.len() - failed);
    }
    let code: u8 = match &result {
        Err(_) if interrupted && stopped.is_none() => 130,
        Err(_) => 1,
        Ok(_) if failed > 0 => 1,
        Ok(_) => 0,
    };
    if let Err(e) = &result {
        eprint!("{e}");
    }
    if let Some(journal) = &journal {
        journal.finish(code, &checks, left_now.as_deref().unwrap_or_default());
    }
    if let (Some(report_path), Some(journal_path)) = (&global.report, &journal_path) {
        report(journal_path, report_path)?;
    }
    if let Some(scratch) = &scratch {
        let _ = std::fs::remove_file(scratch);
    }
    if let Some(path) = &global.junit {
        let suite = file.display().to_string();
        let xml = resilient::journal::junit(&suite, &checks, session.bus().now_ms());
        std::fs::write(path, xml)
            .with_context(|| format!("cannot write the JUnit report {}", path.display()))?;
    }
    Ok(ExitCode::from(code))
}

/// Says what a run left deployed on AWS (it costs money) and how to remove it.
fn report_left_on_aws(
    global: &GlobalArgs,
    settings: &Settings,
    left: resilient::Result<Vec<resilient::cloud::Resource>>,
) {
    match left {
        Ok(left) if left.is_empty() => {}
        Ok(left) => {
            let mut kinds: Vec<&str> = left.iter().map(|r| r.kind.as_str()).collect();
            kinds.dedup();
            eprintln!(
                "{} {} resources of the deployment {} are still on AWS ({}). Destroy them with:\n  {}",
                "!".yellow().bold(),
                left.len(),
                settings.prefix,
                kinds.join(", "),
                global.destroy_command(settings)
            );
        }
        Err(e) => eprintln!(
            "{} could not list what is still deployed ({e}); to remove whatever is left run:\n  {}",
            "!".yellow().bold(),
            global.destroy_command(settings)
        ),
    }
}

/// Writes the HTML report of a journal.
fn report(journal: &std::path::Path, output: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(journal)
        .with_context(|| format!("cannot read the journal {}", journal.display()))?;
    let html = resilient::report::render(&text)
        .with_context(|| format!("cannot make a report of {}", journal.display()))?;
    std::fs::write(output, html)
        .with_context(|| format!("cannot write the report {}", output.display()))
}

fn check(global: &GlobalArgs, files: &[PathBuf]) -> Result<ExitCode> {
    let host = new_host(global.options())?;
    let mut count = 0;
    for file in files {
        for e in host.check_file(file) {
            eprint!("{e}");
            count += 1;
        }
    }
    if count == 0 {
        resilient::outln!("{} {} file(s) compile", "ok:".green().bold(), files.len());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{count} error(s)");
        Ok(ExitCode::from(1))
    }
}

fn plan(global: &GlobalArgs) -> Result<ExitCode> {
    let mut host = new_host(global.options())?;
    host.eval(
        r#"let rows = deploy::plan();
           ui::table(rows, ["kind", "name", "usd_per_hour"]);
           let total = 0.0; for r in rows { total += r.usd_per_hour; }
           ui::say(`about ${total} USD per hour on ${deploy::settings().backend}`);"#,
        "<plan>",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .map(|_| ExitCode::SUCCESS)
}

fn docs(global: &GlobalArgs, json: bool, output: Option<&std::path::Path>) -> Result<ExitCode> {
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
    Ok(ExitCode::SUCCESS)
}

fn defs(global: &GlobalArgs, dir: &std::path::Path) -> Result<ExitCode> {
    let host = new_host(global.options())?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    host.engine()
        .definitions()
        .with_headers(true)
        .include_standard_packages(false)
        .write_to_dir(dir)
        .with_context(|| format!("cannot write definitions into {}", dir.display()))?;
    resilient::outln!("wrote Rhai definition files into {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
