//! `sessions-kql`: the KQL (Kusto Query Language) engine behind the emulator's Log Analytics
//! query API. A pure library: no HTTP, no storage. It parses a query to an AST with source
//! positions, checks it against a [`Catalog`] of table schemas, and executes it over any
//! [`DataSource`], pushing simple filters, the needed columns, the time range and row limits
//! down so a store-backed source can answer fast.
//!
//! ```
//! use sessions_kql::{tables, DateTime, Engine, MemorySource, QueryOptions, Value};
//!
//! let catalog = tables::catalog();
//! let mut source = MemorySource::new(&catalog);
//! source.insert(tables::CONSOLE_LOGS, &[
//!     ("TimeGenerated", Value::from(DateTime::parse("2024-05-01T10:00:00Z").unwrap())),
//!     ("Log", Value::from("listening on :8080")),
//! ]).unwrap();
//! let now = DateTime::parse("2024-05-01T10:30:00Z").unwrap();
//! let result = Engine::new(&catalog, &source)
//!     .query("AppEnvSessionConsoleLogs | where TimeGenerated > ago(1h) | count", &QueryOptions::at(now))
//!     .unwrap();
//! assert_eq!(result.rows, vec![vec![Value::Long(1)]]);
//! ```
//!
//! # Layout
//!
//! - [`lexer`], [`parser`] (statements and operators; `parser/expr.rs` for expressions),
//!   [`ast`], [`span`]: text to syntax tree.
//! - [`analyze`] (`expr.rs`, `summarize.rs`, `search.rs`): names, types and constants resolved
//!   into a [`plan::Plan`]; [`pushdown`] derives the scan hints.
//! - [`exec`] (`eval.rs`, `sort.rs`, `aggregate.rs`): the push pipeline that runs a plan;
//!   [`hash`]: the fast hasher its groups use.
//! - [`source`]: the [`DataSource`] trait and its hints; [`memory`]: [`MemorySource`];
//!   [`text`]: the string tests
//!   (`has`, `contains`, ...) shared by the engine and sources.
//! - [`schema`], [`tables`]: table schemas, the catalog, and the emulator's Log Analytics tables
//!   as Azure documents them.
//! - [`value`], [`time`]: values, column types, `datetime`/`timespan`, ISO 8601 time ranges.
//! - [`result`]: results in the query API's JSON shape; [`error`]: [`QueryError`] and the
//!   service's error body; [`engine`]: [`Engine::query`].
//!
//! # Why our own parser
//!
//! The maintained crate `kqlparser` (0.0.4) was tested on the queries this engine must run.
//! It stops at the first Microsoft example (`| order by TimeGenerated desc` is left unparsed),
//! has no `has`, `contains`, `=~`, `in`, `between`, `matches regex`, `search`, no
//! `arg_max(x, *)`, and keeps no source positions, which `SyntaxError` responses need. A
//! hand-written recursive-descent parser covering the subset below is small and gives exact
//! positions.
//!
//! # Supported subset
//!
//! Tabular: a table name, `union`, `search [in (...)] "term"`, `print`, and the operators
//! `where`/`filter`, `project`, `project-away`, `project-keep`, `project-rename`,
//! `project-reorder`, `extend`, `order by`/`sort by` (`asc`/`desc`, `nulls first|last`),
//! `take`/`limit`, `top N by`, `summarize ... by ...`, `distinct`, `count`, `union`, `search`,
//! `render` (accepted, no effect). `let` of scalars and of tabular expressions.
//!
//! Scalar: `==`, `!=`, `<>`, `=~`, `!~`, `<`, `<=`, `>`, `>=`, `and`, `or`, `not()`, `+ - * / %`,
//! `in`, `!in`, `in~`, `!in~`, `between`, `!between`, `has`, `hasprefix`, `hassuffix`,
//! `contains`, `startswith`, `endswith` (each with `!` and `_cs` forms), `matches regex`,
//! `* has "x"`, dynamic member access (`d.key`, `d[0]`), literals (`5m`, `1.5h`,
//! `datetime(...)`, `dynamic(...)`, `guid(...)`, `int(...)`, ...). Functions: see
//! [`analyze::expr::SUPPORTED_FUNCTIONS`]; aggregations: `count`, `countif`, `dcount` (exact),
//! `min`, `max`, `avg`, `sum`, `make_list`, `make_set`, `take_any`, `arg_max`, `arg_min`.
//!
//! Anything else (`join`, `mv-expand`, `parse`, `make-series`, other functions...) fails with a
//! `SemanticError` whose inner code is `NotSupportedByEmulator` and whose message names it;
//! the engine never guesses.

pub mod analyze;
pub mod ast;
pub mod engine;
pub mod error;
pub mod exec;
pub mod hash;
pub mod lexer;
pub mod memory;
pub mod parser;
pub mod plan;
pub mod pushdown;
pub mod result;
pub mod schema;
pub mod source;
pub mod span;
pub mod tables;
pub mod text;
pub mod time;
pub mod value;

pub use engine::{Engine, QueryOptions, DEFAULT_MAX_ROWS};
pub use error::{ErrorKind, QueryError};
pub use memory::MemorySource;
pub use result::QueryResult;
pub use schema::{Catalog, Column, TableSchema};
pub use source::{DataSource, Flow, Predicate, Row, RowSink, ScanRequest, SourceError};
pub use time::{DateTime, TimeRange, Timespan};
pub use value::{ColumnType, Value};
