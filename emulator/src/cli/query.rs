//! `sessions-emulator query 'KQL' [--workspace NAME] [--timespan P1D] [--json]`: runs a query
//! through the running emulator's Log Analytics query API and prints the result as a table (or
//! the service's JSON with `--json`).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use serde_json::{json, Value};

use super::client::{error_text, Emulator};
use crate::defaults;

/// Flags of `query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The KQL query, e.g. 'AppEnvSessionConsoleLogs | take 10'.
    pub query: String,
    /// Workspace: its name, ARM id or customerId (default: the seeded workspace).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Time range (ISO 8601 duration such as PT1H or P1D, or an interval start/end); default:
    /// no limit beyond the query's own.
    #[arg(long)]
    pub timespan: Option<String>,
    /// Print the service's JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Data directory of the running emulator.
    #[arg(long, env = "SESSIONS_EMULATOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Widest cell printed in table mode (longer values end in `…`; `--json` prints them whole).
pub const MAX_CELL: usize = 120;

/// Runs the command.
pub async fn run(args: QueryArgs, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let emu = Emulator::connect(data_dir)?;
    let customer = workspace_customer_id(&emu, args.workspace.as_deref()).await?;
    let token = emu.token(defaults::LOG_ANALYTICS_AUDIENCE).await?;
    let mut body = json!({"query": args.query});
    if let Some(t) = &args.timespan {
        body["timespan"] = json!(t);
    }
    let (status, answer) = emu
        .post(&format!("/v1/workspaces/{customer}/query"), &token, &body)
        .await?;
    if status != 200 {
        bail!("the query failed: {}", error_text(status, &answer));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", render_table(&answer));
    }
    Ok(())
}

/// The customerId of the workspace `given` names (default: the seeded one).
async fn workspace_customer_id(emu: &Emulator, given: Option<&str>) -> anyhow::Result<String> {
    let Some(w) = given.filter(|w| !w.is_empty()) else {
        return Ok(emu.field("workspaceCustomerId")?.to_string());
    };
    if uuid::Uuid::parse_str(w).is_ok() {
        return Ok(w.to_string());
    }
    let token = emu.token(defaults::ARM_AUDIENCE).await?;
    let api = "api-version=2022-10-01";
    if w.starts_with('/') {
        let (status, body) = emu.get(&format!("{w}?{api}"), &token).await?;
        if status != 200 {
            bail!("workspace '{w}': {}", error_text(status, &body));
        }
        return customer_of(&body, w);
    }
    let sub = emu.field("subscriptionId")?;
    let (status, body) = emu
        .get(
            &format!(
                "/subscriptions/{sub}/providers/Microsoft.OperationalInsights/workspaces?{api}"
            ),
            &token,
        )
        .await?;
    if status != 200 {
        bail!("cannot list the workspaces: {}", error_text(status, &body));
    }
    let found: Vec<&Value> = body["value"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|x| {
                    x["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(w))
                })
                .collect()
        })
        .unwrap_or_default();
    match found.as_slice() {
        [one] => customer_of(one, w),
        [] => bail!("no Log Analytics workspace named '{w}' in subscription {sub}; pass its name, ARM id or customerId"),
        many => bail!(
            "{} workspaces are named '{w}': pass the ARM id of one ({})",
            many.len(),
            many.iter()
                .filter_map(|x| x["id"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn customer_of(workspace: &Value, given: &str) -> anyhow::Result<String> {
    match workspace["properties"]["customerId"].as_str() {
        Some(c) => Ok(c.to_string()),
        None => bail!("workspace '{given}' has no properties.customerId"),
    }
}

/// The first table of a query answer as aligned text: a header, a rule, one line a row, then
/// the row count.
pub fn render_table(answer: &Value) -> String {
    let table = &answer["tables"][0];
    let columns: Vec<String> = table["columns"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| c["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = table["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (0..columns.len())
                        .map(|i| cell(r.get(i).unwrap_or(&Value::Null)))
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([columns[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut s = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&columns);
    out.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str(&format!(
        "({} row{})\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out
}

/// One value as table text: strings bare, null empty, the rest as JSON; one line, at most
/// [`MAX_CELL`] characters.
fn cell(v: &Value) -> String {
    let s = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let s = s.replace(['\n', '\r', '\t'], " ");
    if s.chars().count() > MAX_CELL {
        let mut cut: String = s.chars().take(MAX_CELL - 1).collect();
        cut.push('…');
        cut
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned() {
        let answer = json!({"tables": [{"name": "PrimaryResult",
            "columns": [{"name": "Stream", "type": "string"}, {"name": "n", "type": "long"}, {"name": "x", "type": "dynamic"}],
            "rows": [["stdout", 12, null], ["stderr", 3, {"a": 1}]]}]});
        assert_eq!(
            render_table(&answer),
            "Stream  n   x\n------  --  -------\nstdout  12\nstderr  3   {\"a\":1}\n(2 rows)\n"
        );
    }

    #[test]
    fn long_cells_are_cut_and_flattened() {
        let long = "y".repeat(500);
        assert_eq!(cell(&json!(long)).chars().count(), MAX_CELL);
        assert_eq!(cell(&json!("a\nb")), "a b");
        let empty = json!({"tables": [{"columns": [{"name": "a"}], "rows": []}]});
        assert_eq!(render_table(&empty), "a\n-\n(0 rows)\n");
    }
}
