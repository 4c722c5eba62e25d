use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    chief::init_process();
    chief::telemetry::init_logging(std::env::var("CHIEF_LOG_FORMAT").as_deref() == Ok("json"));
    let cli = chief::cli::Cli::parse();
    match chief::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chief: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
