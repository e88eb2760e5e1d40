//! Every supported operator and function, with the rows and types KQL gives.

use super::fixture::Fixture;
use sessions_kql::{ColumnType, Engine, QueryOptions, TimeRange};

const C: &str = "AppEnvSessionConsoleLogs";

fn q(f: &Fixture, query: &str, col: &str) -> Vec<String> {
    f.column(&format!("{C} {query}"), col)
}

fn types(f: &Fixture, query: &str) -> Vec<(String, ColumnType)> {
    let r = f
        .query(&format!("{C} {query}"))
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    r.columns.into_iter().map(|c| (c.name, c.ty)).collect()
}

#[test]
fn where_with_comparisons_and_logic() {
    let f = Fixture::new();
    assert_eq!(
        q(
            &f,
            "| where Stream == 'stderr' and SessionPoolName != 'pool-a'",
            "SessionId"
        ),
        ["user-2"]
    );
    assert_eq!(q(&f, "| where Stream =~ 'STDOUT' | count", "Count"), ["2"]);
    assert_eq!(q(&f, "| where Stream !~ 'STDOUT' | count", "Count"), ["3"]);
    assert_eq!(
        q(
            &f,
            "| where TimeGenerated < datetime(2024-05-01 11:00) or SessionId == 'user-2' | count",
            "Count"
        ),
        ["3"]
    );
    assert_eq!(
        q(&f, "| where not(Stream == 'stderr') | count", "Count"),
        ["2"]
    );
    assert_eq!(
        q(
            &f,
            "| where TimeGenerated >= datetime(2024-05-01T11:58:00Z) | count",
            "Count"
        ),
        ["2"]
    );
    assert_eq!(
        q(
            &f,
            "| where TimeGenerated <= datetime(2024-05-01T11:50:00Z) | count",
            "Count"
        ),
        ["2"]
    );
    assert_eq!(
        q(
            &f,
            "| where TimeGenerated between (datetime(2024-05-01T11:50:00Z) .. 8m) | count",
            "Count"
        ),
        ["3"]
    );
    assert_eq!(
        q(
            &f,
            "| where TimeGenerated !between (ago(10m) .. now()) | count",
            "Count"
        ),
        ["1"]
    );
    assert_eq!(
        q(
            &f,
            "| where SessionId in ('user-1', 'user-3') | count",
            "Count"
        ),
        ["3"]
    );
    assert_eq!(
        q(
            &f,
            "| where SessionId !in ('user-1', 'user-3') | count",
            "Count"
        ),
        ["2"]
    );
    assert_eq!(
        q(&f, "| where SessionId in~ ('USER-1') | count", "Count"),
        ["2"]
    );
    assert_eq!(q(&f, "| where _BilledSize > 20 | count", "Count"), ["3"]);
    assert_eq!(
        q(
            &f,
            "| where _BilledSize >= 25 and _BilledSize < 30.5 | count",
            "Count"
        ),
        ["2"]
    );
}

#[test]
fn string_operators() {
    let f = Fixture::new();
    let n = |cond: &str| q(&f, &format!("| where {cond} | count"), "Count")[0].clone();
    assert_eq!(n("Log has 'error'"), "1");
    assert_eq!(n("Log has 'ValueError'"), "1");
    assert_eq!(n("Log has 'Value'"), "0");
    assert_eq!(n("Log !has 'error'"), "4");
    assert_eq!(n("Log has_cs 'error'"), "0");
    assert_eq!(n("Log contains 'error'"), "2");
    assert_eq!(n("Log contains_cs 'Error'"), "2");
    assert_eq!(n("Log !contains 'error'"), "3");
    assert_eq!(n("Log startswith 'GET'"), "1");
    assert_eq!(n("Log !startswith 'get'"), "4");
    assert_eq!(n("Log endswith '200'"), "1");
    assert_eq!(n("Log hasprefix 'listen'"), "1");
    assert_eq!(n("Log hassuffix 'put'"), "1");
    assert_eq!(n("Log matches regex '^[A-Z][a-z]+:'"), "2");
    assert_eq!(n("isnotempty(Log)"), "5");
    assert_eq!(n("isempty(ContainerName)"), "0");
}

#[test]
fn project_extend_and_friends() {
    let f = Fixture::new();
    let t = types(
        &f,
        "| project TimeGenerated, Who = SessionId, Len = strlen(Log), tostring(_BilledSize)",
    );
    assert_eq!(
        t,
        [
            ("TimeGenerated".into(), ColumnType::DateTime),
            ("Who".into(), ColumnType::String),
            ("Len".into(), ColumnType::Long),
            ("Column1".into(), ColumnType::String)
        ]
    );
    assert_eq!(
        q(
            &f,
            "| extend Pool = toupper(SessionPoolName) | take 1",
            "Pool"
        ),
        ["POOL-A"]
    );
    assert_eq!(q(&f, "| extend a = 1, b = a + 1 | take 1", "b"), ["2"]);
    assert_eq!(
        q(
            &f,
            "| extend Log = strcat(Stream, ': ', Log) | take 1",
            "Log"
        ),
        ["stderr: warning: low memory"]
    );
    let away = types(&f, "| project-away _*, Tenant*, Type");
    assert!(away
        .iter()
        .all(|(n, _)| !n.starts_with('_') && n != "TenantId" && n != "Type"));
    let kept = types(&f, "| project-keep Log, Stream");
    assert_eq!(
        kept.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["Stream", "Log"]
    );
    let renamed = types(&f, "| project-rename Message = Log | project-keep Message");
    assert_eq!(renamed[0].0, "Message");
    let reordered = types(&f, "| project-reorder Log, Stream");
    assert_eq!(
        (reordered[0].0.as_str(), reordered[1].0.as_str()),
        ("Log", "Stream")
    );
    assert_eq!(
        q(
            &f,
            "| project d = dynamic({'a': [1, 2]}) | extend x = d.a[1] | take 1",
            "x"
        ),
        ["2"]
    );
}

#[test]
fn sorting_take_and_top() {
    let f = Fixture::new();
    assert_eq!(
        q(&f, "| sort by TimeGenerated asc | take 2", "SessionId"),
        ["user-3", "user-1"]
    );
    assert_eq!(
        q(
            &f,
            "| order by SessionPoolName asc, TimeGenerated desc | project SessionId",
            "SessionId"
        ),
        ["user-1", "user-1", "user-3", "user-2", "user-2"]
    );
    assert_eq!(q(&f, "| limit 3 | count", "Count"), ["3"]);
    assert_eq!(
        q(&f, "| top 2 by _BilledSize asc", "Stream"),
        ["stdout", "stderr"]
    );
    assert_eq!(q(&f, "| take 0 | count", "Count"), ["0"]);
    // Nulls sort last when descending, first when ascending.
    let nulls = "| extend x = iff(Stream == 'stdout', int(null), 1) | order by x";
    assert_eq!(
        q(&f, &format!("{nulls} desc | project x"), "x"),
        ["1", "1", "1", "", ""]
    );
    assert_eq!(
        q(&f, &format!("{nulls} asc | project x"), "x"),
        ["", "", "1", "1", "1"]
    );
    assert_eq!(
        q(&f, &format!("{nulls} asc nulls last | project x"), "x"),
        ["1", "1", "1", "", ""]
    );
}

#[test]
fn summarize_aggregations_names_and_types() {
    let f = Fixture::new();
    let query =
        "| summarize count(), countif(Stream == 'stderr'), dcount(SessionId), min(TimeGenerated), \
                 max(_BilledSize), avg(_BilledSize), sum(strlen(Log)), make_list(SessionId), \
                 make_set(SessionPoolName), take_any(ContainerName) by SessionPoolName";
    assert_eq!(
        types(&f, query),
        [
            ("SessionPoolName".into(), ColumnType::String),
            ("count_".into(), ColumnType::Long),
            ("countif_".into(), ColumnType::Long),
            ("dcount_SessionId".into(), ColumnType::Long),
            ("min_TimeGenerated".into(), ColumnType::DateTime),
            ("max__BilledSize".into(), ColumnType::Real),
            ("avg__BilledSize".into(), ColumnType::Real),
            ("sum_".into(), ColumnType::Long),
            ("list_SessionId".into(), ColumnType::Dynamic),
            ("set_SessionPoolName".into(), ColumnType::Dynamic),
            ("any_ContainerName".into(), ColumnType::String),
        ]
    );
    assert_eq!(q(&f, query, "count_"), ["3", "2"]);
    assert_eq!(q(&f, query, "countif_"), ["2", "1"]);
    assert_eq!(q(&f, query, "dcount_SessionId"), ["2", "1"]);
    assert_eq!(
        q(&f, query, "min_TimeGenerated"),
        ["2024-05-01T10:30:00Z", "2024-05-01T11:58:00Z"]
    );
    assert_eq!(
        q(&f, query, "list_SessionId"),
        [r#"["user-3","user-1","user-1"]"#, r#"["user-2","user-2"]"#]
    );
    assert_eq!(
        q(&f, query, "set_SessionPoolName"),
        [r#"["pool-a"]"#, r#"["pool-b"]"#]
    );
    assert_eq!(q(&f, "| summarize total = count()", "total"), ["5"]);
    assert_eq!(
        q(&f, "| where Stream == 'none' | summarize count()", "count_"),
        ["0"]
    );
    assert_eq!(
        q(
            &f,
            "| where Stream == 'none' | summarize count() by Stream | count",
            "Count"
        ),
        ["0"]
    );
    assert_eq!(
        q(
            &f,
            "| summarize pct = 100.0 * countif(Stream == 'stderr') / count()",
            "pct"
        ),
        ["60"]
    );
}

#[test]
fn summarize_by_bin_and_arg_max() {
    let f = Fixture::new();
    let r = f
        .query(&format!(
            "{C} | summarize count() by bin(TimeGenerated, 5m) | order by TimeGenerated asc"
        ))
        .unwrap();
    assert_eq!(r.columns[0].name, "TimeGenerated");
    let bins: Vec<String> = r
        .rows
        .iter()
        .map(|r| format!("{} {}", r[0].to_kql_string(), r[1].to_kql_string()))
        .collect();
    assert_eq!(
        bins,
        [
            "2024-05-01T10:30:00Z 1",
            "2024-05-01T11:50:00Z 1",
            "2024-05-01T11:55:00Z 3"
        ]
    );
    let latest =
        format!("{C} | summarize arg_max(TimeGenerated, *) by SessionId | order by SessionId asc");
    let r = f.query(&latest).unwrap();
    assert_eq!(r.columns[0].name, "SessionId");
    assert_eq!(r.columns[1].name, "TimeGenerated");
    assert!(r.columns.iter().filter(|c| c.name == "SessionId").count() == 1);
    assert_eq!(
        f.column(&latest, "Log"),
        [
            "Error: connection refused",
            "Traceback: ValueError: bad input",
            "warning: low memory"
        ]
    );
    assert_eq!(
        f.column(
            &format!("{C} | summarize arg_min(TimeGenerated, Log)"),
            "Log"
        ),
        ["warning: low memory"]
    );
    assert_eq!(
        q(&f, "| summarize by Stream | order by Stream asc", "Stream"),
        ["stderr", "stdout"]
    );
}

#[test]
fn distinct_count_union_search_print_let() {
    let f = Fixture::new();
    assert_eq!(
        q(&f, "| distinct SessionPoolName, Stream | count", "Count"),
        ["4"]
    );
    assert_eq!(q(&f, "| distinct * | count", "Count"), ["5"]);
    let u = "union AppEnvSessionLifecycleLogs, AppEnvSessionPoolEventLogs | where TimeGenerated > ago(1h) | count";
    assert_eq!(f.column(u, "Count"), ["5"]);
    let u = "union withsource=Source AppEnvSessionLifecycleLogs, (AppEnvSessionPoolEventLogs | take 1) | summarize count() by Source";
    assert_eq!(f.column(u, "count_"), ["4", "1"]);
    assert_eq!(
        f.column(u, "Source"),
        ["AppEnvSessionLifecycleLogs", "union_arg1"]
    );
    assert_eq!(
        q(&f, "| union AppEnvSessionPoolEventLogs | count", "Count"),
        ["8"]
    );
    assert_eq!(
        f.column("search \"connection\"", "$table"),
        ["AppEnvSessionConsoleLogs"]
    );
    assert_eq!(
        f.column(
            "search in (AppEnvSessionLifecycleLogs) \"allocated\" | count",
            "Count"
        ),
        ["2"]
    );
    assert_eq!(f.column("search \"alloc*\" | count", "Count"), ["2"]);
    assert_eq!(
        f.column(
            "search \"*locat*\" and Level == 'Informational' | count",
            "Count"
        ),
        ["2"]
    );
    assert_eq!(
        f.column(
            "search Log:\"probe\" | project OperationName",
            "OperationName"
        ),
        ["SessionUnhealthy"]
    );
    assert_eq!(q(&f, "| search 'health' | count", "Count"), ["1"]);
    assert_eq!(q(&f, "| where * has 'refused' | count", "Count"), ["1"]);
    assert_eq!(
        f.column("print x = 1 + 1, y = strcat('a', 'b')", "y"),
        ["ab"]
    );
    let l = "let since = 15m; let pool = 'pool-b'; AppEnvSessionConsoleLogs | where TimeGenerated > ago(since) and SessionPoolName == pool | count";
    assert_eq!(f.column(l, "Count"), ["2"]);
    let l = "let errs = AppEnvSessionConsoleLogs | where Stream == 'stderr'; errs | count";
    assert_eq!(f.column(l, "Count"), ["3"]);
    assert_eq!(q(&f, "| take 1 | render table", "SessionId"), ["user-3"]);
}

#[test]
fn scalar_functions() {
    let f = Fixture::new();
    let p = |e: &str| f.column(&format!("print r = {e}"), "r")[0].clone();
    assert_eq!(
        p("todatetime('2024-01-02 03:04:05')"),
        "2024-01-02T03:04:05Z"
    );
    assert_eq!(p("tostring(1.5)"), "1.5");
    assert_eq!(p("iff(1 > 2, 'a', 'b')"), "b");
    assert_eq!(p("iif(true, 1, 2)"), "1");
    assert_eq!(p("case(false, 'a', true, 'b', 'c')"), "b");
    assert_eq!(p("coalesce('', 'x')"), "x");
    assert_eq!(p("ago(1d)"), "2024-04-30T12:00:00Z");
    assert_eq!(p("now(-1h)"), "2024-05-01T11:00:00Z");
    assert_eq!(
        p("datetime(2024-05-01T12:00:00Z) - datetime(2024-05-01T11:30:00Z)"),
        "00:30:00"
    );
    assert_eq!(p("bin(17, 5)"), "15");
    assert_eq!(
        p("floor(datetime(2024-05-01T11:37:00Z), 1h)"),
        "2024-05-01T11:00:00Z"
    );
    assert_eq!(p("substring('hello', 1, 3)"), "ell");
    assert_eq!(p("tolower('ABC')"), "abc");
    assert_eq!(p("tolong('12')"), "12");
    assert_eq!(p("toint(2.9)"), "2");
    assert_eq!(p("toreal('2.5') * 2"), "5");
    assert_eq!(p("tobool('true')"), "true");
    assert_eq!(p("totimespan('01:00:00') / 1m"), "60");
    assert_eq!(p("isnull(int(null))"), "true");
    assert_eq!(p("parse_json('{\"a\":1}').a"), "1");
    assert_eq!(p("7 % 3 + 10 / 4"), "3");
    assert_eq!(p("-(1h)"), "-01:00:00");
}

#[test]
fn timespan_option_restricts_every_table() {
    let f = Fixture::new();
    let engine = Engine::new(&f.catalog, &f.source);
    let mut opts = QueryOptions::at(super::fixture::now());
    opts.time_range = Some(TimeRange::parse_iso8601("PT5M", opts.now).unwrap());
    let r = engine.query("search * | count", &opts).unwrap();
    assert_eq!(r.rows[0][0].to_kql_string(), "5");
    opts.max_rows = 2;
    let r = engine.query("AppEnvSessionConsoleLogs", &opts).unwrap();
    assert_eq!(r.rows.len(), 2);
    assert!(r.truncated);
}
