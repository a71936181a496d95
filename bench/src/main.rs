//! The `tidings-bench` binary: parses the command line and runs the runner, the soak, the bare
//! ceiling or the worker measurement.

use clap::Parser;
use tidings_bench::cli::{Cli, Command};
use tidings_bench::{bare, runner, scenarios, soak};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => runner::run(args).await,
        Command::Soak(args) => soak::run(args).await,
        Command::Bare(args) => {
            let payloads = bare::load(&args.data)?;
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            println!("listening {}", listener.local_addr()?);
            axum::serve(listener, bare::app(payloads)).await?;
            Ok(())
        }
        Command::Worker(args) => {
            let run =
                scenarios::worker::measure(&args.url, args.sources, args.interval, args.window)
                    .await?;
            println!("{}", serde_json::to_string(&run)?);
            Ok(())
        }
    }
}
