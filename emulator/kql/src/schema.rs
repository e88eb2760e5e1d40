//! Table schemas and the catalog of tables a workspace has, with near-miss suggestions for
//! names that do not resolve (`AppEnvSessionPoolEvents` -> `AppEnvSessionPoolEventLogs`).

use std::sync::Arc;

use crate::value::ColumnType;

/// A named, typed column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Column name (case-sensitive, as KQL is).
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
}

impl Column {
    /// A column.
    pub fn new(name: &str, ty: ColumnType) -> Column {
        Column {
            name: name.to_string(),
            ty,
        }
    }
}

/// A table: its name and columns in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSchema {
    /// Table name.
    pub name: String,
    /// Columns, in the order rows carry them.
    pub columns: Vec<Column>,
}

impl TableSchema {
    /// A table from `(name, type)` pairs.
    pub fn new(name: &str, columns: &[(&str, ColumnType)]) -> TableSchema {
        TableSchema {
            name: name.to_string(),
            columns: columns.iter().map(|(n, t)| Column::new(n, *t)).collect(),
        }
    }

    /// The index of a column.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The `TimeGenerated` column the query API's `timespan` applies to, if the table has one.
    pub fn time_column(&self) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == "TimeGenerated" && c.ty == ColumnType::DateTime)
    }
}

/// The tables a query can read.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    tables: Vec<Arc<TableSchema>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Adds (or replaces) a table.
    pub fn with_table(mut self, table: TableSchema) -> Catalog {
        self.tables.retain(|t| t.name != table.name);
        self.tables.push(Arc::new(table));
        self
    }

    /// The table of that exact name.
    pub fn table(&self, name: &str) -> Option<Arc<TableSchema>> {
        self.tables.iter().find(|t| t.name == name).cloned()
    }

    /// Every table, in the order added.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableSchema>> {
        self.tables.iter()
    }

    /// The table a user most likely meant by a name that does not exist.
    pub fn suggest_table(&self, name: &str) -> Option<&str> {
        suggest(name, self.tables.iter().map(|t| t.name.as_str()))
    }
}

/// The closest of `candidates` to `name`: same name in another case, the name without a `_CL`
/// suffix, a long shared prefix (`AppEnvSessionPoolEvents`), or a small edit distance.
pub fn suggest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let stripped = lower.strip_suffix("_cl").unwrap_or(&lower).to_string();
    if let Some(c) = candidates.clone().find(|c| c.to_ascii_lowercase() == lower) {
        return Some(c);
    }
    if let Some(c) = candidates
        .clone()
        .find(|c| c.to_ascii_lowercase() == stripped)
    {
        return Some(c);
    }
    let prefix_len = |c: &str| {
        c.to_ascii_lowercase()
            .bytes()
            .zip(stripped.bytes())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let best_prefix = candidates
        .clone()
        .map(|c| (prefix_len(c), c))
        .filter(|(n, c)| *n >= 12 && *n * 10 >= stripped.len().max(c.len()) * 7)
        .max_by_key(|(n, _)| *n);
    if let Some((_, c)) = best_prefix {
        return Some(c);
    }
    candidates
        .map(|c| (edit_distance(&c.to_ascii_lowercase(), &stripped), c))
        .filter(|(d, c)| *d <= (c.len() / 4).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = [
        "AppEnvSessionConsoleLogs",
        "AppEnvSessionLifecycleLogs",
        "AppEnvSessionPoolEventLogs",
        "AzureMetrics",
    ];

    #[test]
    fn near_misses_name_the_real_table() {
        let s = |n| suggest(n, NAMES.iter().copied());
        assert_eq!(
            s("AppEnvSessionPoolEvents"),
            Some("AppEnvSessionPoolEventLogs")
        );
        assert_eq!(
            s("AppEnvSessionLifeCycleLogs"),
            Some("AppEnvSessionLifecycleLogs")
        );
        assert_eq!(
            s("AppEnvSessionLifecycleLogs_CL"),
            Some("AppEnvSessionLifecycleLogs")
        );
        assert_eq!(
            s("appenvsessionconsolelogs"),
            Some("AppEnvSessionConsoleLogs")
        );
        assert_eq!(s("AzureMetric"), Some("AzureMetrics"));
        assert_eq!(s("Heartbeat"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
