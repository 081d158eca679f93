use clap::Parser;
use invreqd::cli::{Cli, Command};
use invreqd::startup::Application;
use invreqd::{api, bolt12, telemetry};

fn main() -> anyhow::Result<()> {
    // Before the runtime starts its threads.
    invreqd::startup::limit_malloc_arenas();
    // Before any file is created: the database and keys are private to this user.
    invreqd::startup::restrict_file_modes();
    invreqd::startup::raise_open_file_limit();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
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
        #[cfg(feature = "load-test")]
        Some(Command::BenchSeed(args)) => invreqd::bench::seed(*args).await,
        #[cfg(feature = "load-test")]
        Some(Command::BenchSign { iterations }) => {
            let cost = invreqd::bench::signature_cost(iterations);
            println!(
                "sign_ns={:.0} verify_ns={:.0}",
                cost.sign_ns, cost.verify_ns
            );
            Ok(())
        }
        #[cfg(feature = "load-test")]
        Some(Command::BenchSerialize(args)) => {
            let cost = invreqd::bench::serialize_cost(*args).await?;
            println!("serialize_ns={:.0} bytes={}", cost.serialize_ns, cost.bytes);
            Ok(())
        }
        None => serve(cli.serve).await,
    }
}

async fn serve(args: invreqd::config::ServeArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    Application::build(&args).await?.run_until_stopped().await
}
