//! The entry point: [`Engine::query`] parses, analyses, plans pushdown and executes one query
//! against a catalog and a data source. The engine reads no clock: `now()` and `ago()` use
//! [`QueryOptions::now`].

use crate::error::QueryError;
use crate::exec::{execute, ExecOptions};
use crate::plan::Plan;
use crate::result::QueryResult;
use crate::schema::Catalog;
use crate::source::DataSource;
use crate::time::{DateTime, TimeRange};
use crate::{analyze, parser, pushdown};

/// The service's cap on result rows.
pub const DEFAULT_MAX_ROWS: usize = 500_000;

/// Per-query inputs besides the text.
#[derive(Clone, Copy, Debug)]
pub struct QueryOptions {
    /// The current time (`now()`, `ago()`).
    pub now: DateTime,
    /// The query API's `timespan`: only rows with `TimeGenerated` in range.
    pub time_range: Option<TimeRange>,
    /// At most this many rows are returned (more marks the result truncated).
    pub max_rows: usize,
}

impl QueryOptions {
    /// Options at `now`, no time range, the default row cap.
    pub fn at(now: DateTime) -> QueryOptions {
        QueryOptions {
            now,
            time_range: None,
            max_rows: DEFAULT_MAX_ROWS,
        }
    }
}

/// Runs KQL over a catalog of tables and a source of rows.
pub struct Engine<'a> {
    catalog: &'a Catalog,
    source: &'a dyn DataSource,
}

impl<'a> Engine<'a> {
    /// An engine over these tables.
    pub fn new(catalog: &'a Catalog, source: &'a dyn DataSource) -> Engine<'a> {
        Engine { catalog, source }
    }

    /// The executable plan for `text`, with pushdown hints filled (for inspection and tests).
    pub fn plan(&self, text: &str, now: DateTime) -> Result<Plan, QueryError> {
        let run = || {
            let query = parser::parse(text)?;
            let mut plan = analyze::analyze(&query, self.catalog, now)?;
            pushdown::apply(&mut plan);
            Ok(plan)
        };
        run().map_err(|e: QueryError| e.locate(text))
    }

    /// Runs `text`. Errors carry the position in `text`.
    pub fn query(&self, text: &str, opts: &QueryOptions) -> Result<QueryResult, QueryError> {
        let plan = self.plan(text, opts.now)?;
        let exec = ExecOptions {
            time_range: opts.time_range,
            max_rows: opts.max_rows,
        };
        let (rows, truncated) = execute(&plan, self.source, exec).map_err(|e| e.locate(text))?;
        Ok(QueryResult {
            columns: plan.columns,
            rows,
            truncated,
        })
    }
}
