//! `rtvc serve`: the signaling server and browser page; `rtvc token`: room invitations.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::Args;
use rtvc_signal::token::parse_ttl;
use rtvc_signal::{Secret, Server, ServerConfig};

use crate::CliError;

/// `rtvc serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the first line printed says which).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A file with the secret that room tokens are signed with (`rtvc token`); without it
    /// anyone may join any room.
    #[arg(long, value_name = "FILE")]
    secret: Option<PathBuf>,
    /// How long a dropped participant's seat is held for it, seconds.
    #[arg(long, default_value_t = 15.0, value_name = "S")]
    resume_window: f64,
}

/// `rtvc token` arguments.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The room the token opens.
    #[arg(long)]
    room: String,
    /// How long it is good for: `90s`, `15m`, `1h`, `2d`.
    #[arg(long, default_value = "1h")]
    ttl: String,
    /// The server's secret file (as given to `rtvc serve --secret`).
    #[arg(long, value_name = "FILE")]
    secret: PathBuf,
}

fn read_secret(path: &PathBuf) -> Result<Secret, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
    Secret::new(&bytes).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// Runs the server until Ctrl-C.
pub fn serve(args: &ServeArgs) -> Result<(), CliError> {
    if !(args.resume_window.is_finite() && (0.0..=3600.0).contains(&args.resume_window)) {
        return Err(CliError::Usage("--resume-window is 0–3600 seconds".into()));
    }
    let config = ServerConfig {
        listen: args.listen,
        secret: args.secret.as_ref().map(read_secret).transpose()?,
        resume_window: Duration::from_secs_f64(args.resume_window),
        ..ServerConfig::default()
    };
    let locked = config.secret.is_some();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Write)?;
    runtime.block_on(async move {
        let server = Server::start(config)
            .await
            .map_err(|e| CliError::Usage(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = server.local_addr();
        println!("rtvc serve: listening on http://{addr}");
        println!(
            "  page: http://{addr}/?room=R&codec=av1|h264   WebSocket: ws://{addr}/ws   rooms {}",
            if locked {
                "need a token (rtvc token)"
            } else {
                "are open"
            }
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::signal::ctrl_c().await.map_err(CliError::Write)?;
        eprintln!("rtvc serve: stopping");
        server.shutdown().await.map_err(CliError::Write)
    })
}

/// Prints a token.
pub fn token(args: &TokenArgs) -> Result<(), CliError> {
    rtvc_signal::protocol::check_room(&args.room).map_err(|_| {
        CliError::Usage(format!("--room {:?}: 1–64 of A–Z a–z 0–9 - _ .", args.room))
    })?;
    let ttl = parse_ttl(&args.ttl)
        .ok_or_else(|| CliError::Usage(format!("--ttl {:?}: e.g. 90s, 15m, 1h, 2d", args.ttl)))?;
    let secret = read_secret(&args.secret)?;
    println!("{}", secret.issue(&args.room, ttl, SystemTime::now()));
    Ok(())
}
