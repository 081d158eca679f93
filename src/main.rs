use clap::Parser;
use invreqd::config::{Cli, Command};
use invreqd::startup::Application;
use invreqd::{api, bolt12, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Openapi) => {
            println!("{}", api::openapi().to_pretty_json()?);
            Ok(())
        }
        Some(Command::Decode { bolt12: text }) => {
            let parsed = bolt12::InvoiceRequest::decode(&text)?;
            let decoded = api::decode::DecodedInvoiceRequest::from(&parsed);
            println!("{}", serde_json::to_string_pretty(&decoded)?);
            Ok(())
        }
        Some(Command::Keys(cmd)) => invreqd::cli::keys::run(cmd).await,
        Some(Command::Serve(args)) => serve(*args).await,
        None => serve(cli.serve).await,
    }
}

async fn serve(args: invreqd::config::ServeArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    Application::build(&args).await?.run_until_stopped().await
}
