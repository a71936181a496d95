//! The `tidings` binary: parses the command line, sets up logging, binds the listener and runs.

use anyhow::Context;
use clap::Parser;
use tidings::config::{Cli, Command, ExportBindingsArgs};
use tidings::server::Tidings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// jemalloc, whose background threads give memory freed by a mass disconnect back to the system
/// (glibc's malloc kept most of a flood's peak after its connections closed).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("jemalloc background threads unavailable: {error}");
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            tidings::telemetry::init(args.log_format);
            let listener = TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            let tidings = Tidings::build(&args).await?;
            println!("listening on http://{}", listener.local_addr()?);
            tidings.serve(listener, shutdown_on_signal()).await?;
        }
        Command::Sim(args) => {
            tidings::telemetry::init(args.log_format);
            let listener = TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            println!("simulator listening on http://{}", listener.local_addr()?);
            let config = tidings_sim::SimConfig {
                tick: args.sim.tick,
                activity_per_sec: args.sim.activity_per_sec,
                seed: args.sim.seed,
                extra_instances: args.sim.extra_instances,
                keystone: args.keystone.config(),
                ..tidings_sim::SimConfig::default()
            };
            let token = shutdown_on_signal();
            tidings_sim::run(listener, config, async move { token.cancelled().await }).await?;
        }
        Command::ExportBindings(args) => export_bindings(&args)?,
    }
    Ok(())
}

/// Writes (or with `--check`, compares) the TypeScript bindings generated from the registry.
fn export_bindings(args: &ExportBindingsArgs) -> anyhow::Result<()> {
    use tidings::updates::UpdateType;
    use tidings_rpc::typescript::{Package, export};

    let package = Package {
        name: "@tidings/bindings".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        license: env!("CARGO_PKG_LICENSE").into(),
        description: "Typed bindings of the Tidings server: wire types, AppRouter for \
                      @trpc/client, UPDATE_QUERY_MAP."
            .into(),
        command: "tidings export-bindings".into(),
    };
    let update_types = UpdateType::ALL.map(UpdateType::as_str);
    let bindings = export(&tidings::routers::registry(), &update_types, &package)?;
    let dir = args.out.display();
    if !args.check {
        bindings
            .write(&args.out)
            .with_context(|| format!("writing {dir}"))?;
        println!("wrote {} files to {dir}", bindings.files().len());
    } else if let Err(drift) = bindings.check(&args.out) {
        eprint!("{dir} differs from what the registry produces:\n{drift}");
        eprintln!("regenerate with `just bindings` (tidings export-bindings --out {dir})");
        std::process::exit(1);
    } else {
        println!("{dir} is up to date ({} files)", bindings.files().len());
    }
    Ok(())
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        #[cfg(unix)]
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}
