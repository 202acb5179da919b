//! Embedding the `resilient` host in another Rust program: build a host, add
//! your own script function, and drive the local cloud from a script.
//!
//!     cargo run --example embed

use resilient::settings::Settings;
use resilient::{Host, HostOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut host = Host::new(HostOptions {
        settings: Settings::default(),
        batch: true,
        ..Default::default()
    })?;
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
        Ok(summary) => println!("{summary}"),
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    }
    Ok(())
}
