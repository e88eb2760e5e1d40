//! Properties: the parser never panics, `take N` never returns more than N rows, `where`
//! returns a subset of its input.

use proptest::prelude::*;

use super::fixture::Fixture;
use sessions_kql::parser::parse;

const PIECES: [&str; 40] = [
    "AppEnvSessionConsoleLogs",
    "|",
    "where",
    "take",
    "summarize",
    "count()",
    "by",
    "bin(",
    ")",
    "(",
    ",",
    "TimeGenerated",
    "Log",
    "has",
    "'x'",
    "\"y",
    "==",
    "=~",
    "!",
    "in",
    "between",
    "..",
    "5m",
    "datetime(2024-01-01)",
    "ago(1h)",
    "order",
    "desc",
    "project-away",
    "-",
    "*",
    "let",
    "=",
    ";",
    "search",
    "union",
    "dynamic([",
    "1.5e",
    "@'",
    "//",
    "\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics_on_any_text(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_kql_like_text(parts in proptest::collection::vec(0..PIECES.len(), 0..25)) {
        let q: Vec<&str> = parts.iter().map(|i| PIECES[*i]).collect();
        let _ = parse(&q.join(" "));
        let _ = parse(&q.concat());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn engine_never_panics_on_kql_like_text(parts in proptest::collection::vec(0..PIECES.len(), 0..20)) {
        let f = Fixture::new();
        let q: Vec<&str> = parts.iter().map(|i| PIECES[*i]).collect();
        let _ = f.query(&q.join(" "));
    }

    #[test]
    fn take_never_returns_more_than_n(n in 0usize..8, filter in 0usize..4) {
        let f = Fixture::new();
        let filters = ["", "| where Stream == 'stderr'", "| order by TimeGenerated desc", "| union AppEnvSessionPoolEventLogs"];
        let r = f.query(&format!("AppEnvSessionConsoleLogs {} | take {n}", filters[filter])).unwrap();
        prop_assert!(r.rows.len() <= n);
        let r = f.query(&format!("search * {} | take {n}", if filter == 1 { "| where isnotempty(Log)" } else { "" })).unwrap();
        prop_assert!(r.rows.len() <= n);
    }

    #[test]
    fn where_returns_a_subset_of_its_input(
        col in prop::sample::select(vec!["Log", "Stream", "SessionId", "SessionPoolName"]),
        op in prop::sample::select(vec!["has", "contains", "==", "!=", "=~", "startswith", "!has", "endswith_cs"]),
        needle in "[a-zA-Z0-9 :-]{0,6}",
    ) {
        let f = Fixture::new();
        let all = f.query("AppEnvSessionConsoleLogs").unwrap();
        let q = format!("AppEnvSessionConsoleLogs | where {col} {op} '{needle}'");
        let some = f.query(&q).unwrap();
        prop_assert_eq!(&some.columns, &all.columns);
        for row in &some.rows {
            prop_assert!(all.rows.contains(row), "{} returned a row not in the table", q);
        }
        // The same filter evaluated without pushdown (after a no-op extend) agrees.
        let unpushed = f.query(&format!("AppEnvSessionConsoleLogs | extend _x = 1 | where {col} {op} '{needle}' | project-away _x")).unwrap();
        prop_assert_eq!(&unpushed.rows, &some.rows);
    }
}
