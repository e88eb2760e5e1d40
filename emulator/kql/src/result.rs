//! Query results: typed columns and rows, in the Log Analytics response shape
//! (`{"tables":[{"name":"PrimaryResult","columns":[{"name","type"}],"rows":[[...]]}]}`) or as a
//! text table for people (the CLI and snapshot tests).

use crate::schema::Column;
use crate::source::Row;

/// The rows a query returned.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// Result columns, in order.
    pub columns: Vec<Column>,
    /// Rows, each with one value per column.
    pub rows: Vec<Row>,
    /// The result was cut at the row cap; the service reports this as a `PartialError`.
    pub truncated: bool,
}

impl QueryResult {
    /// The `tables` array of the query API's response (one table, `PrimaryResult`).
    pub fn to_json(&self) -> serde_json::Value {
        let columns: Vec<serde_json::Value> = self
            .columns
            .iter()
            .map(|c| serde_json::json!({"name": c.name, "type": c.ty.as_str()}))
            .collect();
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                serde_json::Value::Array(
                    r.iter()
                        .zip(&self.columns)
                        .map(|(v, c)| v.to_json(c.ty))
                        .collect(),
                )
            })
            .collect();
        serde_json::json!({"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]})
    }

    /// A plain-text table: a header of `name:type`, then one line per row.
    pub fn render_table(&self) -> String {
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("{}:{}", c.name, c.ty))
            .collect();
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&self.columns)
                    .map(|(v, c)| match v.to_json(c.ty) {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |vals: &[String]| {
            let parts: Vec<String> = vals
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            format!("{}\n", parts.join(" | ").trim_end())
        };
        let mut out = line(&header);
        out.push_str(&format!(
            "{}\n",
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("-+-")
        ));
        for r in &cells {
            out.push_str(&line(r));
        }
        if self.truncated {
            out.push_str("(truncated)\n");
        }
        out
    }
}
