//! Embedding the `resilient` host in another Rust program: build a host, add
//! your own script function and your own event sink, and drive the local
//! cloud from a script.
//!
//!     cargo run --example embed

use resilient::events::{Event, EventKind, Sink};
use resilient::settings::Settings;
use resilient::{Host, HostOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the deploy steps and deleted resources the run reports.
#[derive(Default)]
struct Counter {
    steps: AtomicUsize,
    deleted: AtomicUsize,
}

impl Sink for Counter {
    fn event(&self, event: &Event) {
        match event.kind {
            EventKind::Step { .. } => self.steps.fetch_add(1, Ordering::Relaxed),
            EventKind::Deleted { .. } => self.deleted.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut host = Host::new(HostOptions {
        settings: Settings::default(),
        batch: true,
        // Nothing printed: this program reports through its own sink.
        quiet: true,
        ..Default::default()
    })?;
    let counter = Arc::new(Counter::default());
    host.add_sink(counter.clone());
    // Your own functions sit beside the built-in modules.
    host.engine_mut()
        .register_fn("percent", |x: f64| format!("{:.1}%", x * 100.0));
    let result = host.eval(
        r#"
        deploy::all();
        let stats = load::run(#{ requests: 50, concurrency: 5 });
        destroy::all();
        `${stats.count} requests, ${percent(stats.success_rate)} answered, p99 ${stats.p99_ms} ms`
        "#,
        "<embed>",
    );
    match result {
        Ok(summary) => println!(
            "{summary}; {} deploy steps, {} resources deleted",
            counter.steps.load(Ordering::Relaxed),
            counter.deleted.load(Ordering::Relaxed)
        ),
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
    Ok(())
}
