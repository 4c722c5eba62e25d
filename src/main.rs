#![recursion_limit = "256"]
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    chief::init_process();
    let telemetry = chief::telemetry::init(&chief::telemetry::TelemetrySettings::from_env());
    let cli = chief::cli::Cli::parse();
    let code = match chief::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chief: {e:#}");
            std::process::ExitCode::FAILURE
        }
    };
    // Send the spans still buffered (a no-op without OTLP export).
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    code
}
