//! The `resilient` command line.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::setup_color();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{} {e:#}", cli::error_label());
            ExitCode::from(1)
        }
    }
}
