//! `sessions-emulator logs POOL [--identifier X] [--since 10m] [--follow]`: a pool's console
//! lines (every session's stdout and stderr) from the running emulator, whatever the diagnostic
//! settings say; `--follow` keeps printing new lines until interrupted. One line each:
//! `TIME IDENTIFIER STREAM LOG` (the session id when no identifier was bound).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::client::{error_text, Emulator};
use crate::defaults;
use crate::monitor::console::{MAX_LIMIT, PATH};

/// Flags of `logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The pool: its name (when one pool has it) or its ARM id.
    pub pool: String,
    /// Only lines of the session bound to this identifier.
    #[arg(long)]
    pub identifier: Option<String>,
    /// Only lines of the last DURATION (`30s`, `10m`, `2h`, `1d`; a bare number is seconds).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<u64>,
    /// Lines printed before following (the newest ones).
    #[arg(long, default_value_t = 100)]
    pub tail: usize,
    /// Keep printing new lines until interrupted.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Data directory of the running emulator.
    #[arg(long, env = "SESSIONS_EMULATOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// How often `--follow` asks for new lines.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// `30s`, `10m`, `2h`, `1d` or a bare number of seconds, as seconds.
pub fn parse_since(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration: use e.g. 30s, 10m, 2h or 1d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "'{s}' has an unknown unit '{unit}': use s, m, h or d"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too long a duration"))
}

/// Runs the command.
pub async fn run(args: LogsArgs, data_dir: &Path) -> anyhow::Result<()> {
    if !(1..=MAX_LIMIT).contains(&args.tail) {
        bail!("--tail must be from 1 to {MAX_LIMIT}, got {}", args.tail);
    }
    let emu = Emulator::connect(data_dir)?;
    let mut token = emu.token(defaults::ARM_AUDIENCE).await?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("pool", &args.pool);
    if let Some(i) = &args.identifier {
        query.append_pair("identifier", i);
    }
    if let Some(s) = args.since {
        query.append_pair("since", &s.to_string());
    }
    let base = query.finish();
    let (status, page) = emu
        .get(&format!("{PATH}?{base}&limit={}", args.tail), &token)
        .await?;
    if status != 200 {
        bail!("{}", error_text(status, &page));
    }
    let mut cursor = print_page(&page);
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let path = format!("{PATH}?{base}&after={cursor}&limit={MAX_LIMIT}");
        let (mut status, mut page) = emu.get(&path, &token).await?;
        if status == 401 {
            // The token expired while following: get a new one.
            token = emu.token(defaults::ARM_AUDIENCE).await?;
            (status, page) = emu.get(&path, &token).await?;
        }
        match status {
            200 => cursor = print_page(&page),
            404 => {
                eprintln!("sessions-emulator: {}", error_text(status, &page));
                return Ok(());
            }
            _ => bail!("{}", error_text(status, &page)),
        }
    }
}

/// Prints a page's lines; returns its cursor.
fn print_page(page: &Value) -> i64 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for l in page["lines"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "{}", format_line(l));
    }
    let _ = out.flush();
    page["cursor"].as_i64().unwrap_or(0)
}

/// `TIME IDENTIFIER STREAM LOG` (the session id stands in for a missing identifier).
pub fn format_line(l: &Value) -> String {
    let s = |k: &str| l[k].as_str().unwrap_or_default();
    let who = if s("identifier").is_empty() {
        s("session")
    } else {
        s("identifier")
    };
    format!("{} {who} {} {}", s("time"), s("stream"), s("log"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(parse_since("30s"), Ok(30));
        assert_eq!(parse_since("10m"), Ok(600));
        assert_eq!(parse_since("2h"), Ok(7200));
        assert_eq!(parse_since("1d"), Ok(86_400));
        assert_eq!(parse_since("45"), Ok(45));
        assert!(parse_since("10x").unwrap_err().contains("unit 'x'"));
        assert!(parse_since("m").unwrap_err().contains("not a duration"));
        assert!(parse_since("99999999999999999999d").is_err());
    }

    #[test]
    fn lines() {
        let l = json!({"time": "2026-01-01T00:00:00Z", "identifier": "u1", "session": "s-1", "stream": "stderr", "log": "boom"});
        assert_eq!(format_line(&l), "2026-01-01T00:00:00Z u1 stderr boom");
        let l = json!({"time": "t", "identifier": "", "session": "s-1", "stream": "stdout", "log": "x"});
        assert_eq!(format_line(&l), "t s-1 stdout x");
    }
}
