//! Error shapes (snapshots of the service's JSON body) and result snapshots.

use super::fixture::Fixture;
use sessions_kql::ErrorKind;

fn body(f: &Fixture, q: &str) -> serde_json::Value {
    f.query(q).expect_err(q).to_service_json()
}

#[test]
fn syntax_error_body() {
    let f = Fixture::new();
    insta::assert_json_snapshot!(
        "syntax_error",
        body(&f, "AppEnvSessionConsoleLogs\n| where Log has 'x' |")
    );
    insta::assert_json_snapshot!(
        "syntax_error_bad_token",
        body(&f, "completely invalid syntax")
    );
}

#[test]
fn semantic_error_bodies() {
    let f = Fixture::new();
    insta::assert_json_snapshot!(
        "unknown_table",
        body(&f, "AppEnvSessionPoolEvents | take 10")
    );
    insta::assert_json_snapshot!(
        "unknown_column",
        body(&f, "AppEnvSessionConsoleLogs | where Strem == 'stderr'")
    );
    insta::assert_json_snapshot!(
        "unsupported_operator",
        body(
            &f,
            "AppEnvSessionConsoleLogs | join (AppEnvSessionLifecycleLogs) on SessionPoolName"
        )
    );
}

#[test]
fn every_refusal_names_what_was_refused() {
    let f = Fixture::new();
    for (q, kind, needle) in [
        (
            "AppEnvSessionConsoleLogs | mv-expand Log",
            ErrorKind::Unsupported,
            "'mv-expand' operator",
        ),
        (
            "AppEnvSessionConsoleLogs | parse Log with a",
            ErrorKind::Unsupported,
            "'parse' operator",
        ),
        (
            "AppEnvSessionConsoleLogs | extend x = extract('a', 0, Log)",
            ErrorKind::Unsupported,
            "'extract()'",
        ),
        (
            "AppEnvSessionConsoleLogs | summarize percentile(_BilledSize, 50)",
            ErrorKind::Unsupported,
            "'percentile()'",
        ),
        (
            "AppEnvSessionConsoleLogs | where Log has_any ('a')",
            ErrorKind::Unsupported,
            "'has_any' operator",
        ),
        (
            "datatable(a:int)[1]",
            ErrorKind::Unsupported,
            "'datatable' operator",
        ),
        (
            "AppEnvSessionConsoleLogs | where Log > 5",
            ErrorKind::Semantic,
            "Cannot compare values of types string and long",
        ),
        (
            "AppEnvSessionConsoleLogs | where strlen(Log)",
            ErrorKind::Semantic,
            "must be a bool predicate",
        ),
        (
            "AppEnvSessionConsoleLogs | take -1",
            ErrorKind::Semantic,
            "non-negative",
        ),
        (
            "AppEnvSessionConsoleLogs | where Log matches regex '('",
            ErrorKind::Semantic,
            "regular expression is invalid",
        ),
        (
            "AppEnvSessionConsoleLogs | summarize Log",
            ErrorKind::Semantic,
            "must be inside an aggregation",
        ),
        (
            "AppEnvSessionConsoleLogs | extend count()",
            ErrorKind::Semantic,
            "is an aggregation",
        ),
        (
            "AppEnvSessionConsoleLogs | project-away Nope",
            ErrorKind::Semantic,
            "Failed to resolve column 'Nope'",
        ),
        (
            "AppEnvSessionConsoleLogs | where TimeGenerated > ago(1x)",
            ErrorKind::Syntax,
            "'x' is not a timespan unit",
        ),
        (
            "AppEnvSessionConsoleLogs | where substring(Log)",
            ErrorKind::Semantic,
            "substring() takes 2 to 3 argument(s)",
        ),
        (
            "AppEnvSessionConsoleLogs | where Log == 'x' Stream",
            ErrorKind::Syntax,
            "expected '|'",
        ),
    ] {
        let e = f.query(q).expect_err(q);
        assert_eq!(e.kind, kind, "{q}: {}", e.message);
        assert!(e.message.contains(needle), "{q}: {}", e.message);
        assert!(e.position.is_some(), "{q}: no position");
    }
}

#[test]
fn big_queries_are_answered_or_refused_without_exhausting_the_stack() {
    let f = Fixture::new();
    let ors = vec!["SessionId == 'user-1'"; 2000].join(" or ");
    let q = format!("AppEnvSessionConsoleLogs | where {ors} | count");
    assert_eq!(f.column(&q, "Count"), ["2"]);
    let nested = format!("print x = {}1{}", "(".repeat(40), ")".repeat(40));
    assert_eq!(f.column(&nested, "x"), ["1"]);
    let e = f
        .query(&format!(
            "print x = {}1{}",
            "(".repeat(100),
            ")".repeat(100)
        ))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(e.message.contains("levels deep"), "{}", e.message);
}

#[test]
fn result_tables() {
    let f = Fixture::new();
    let r = f
        .query(
            "AppEnvSessionConsoleLogs | where TimeGenerated > ago(1h) \
             | summarize Lines = count(), Errors = countif(Stream == 'stderr'), Last = max(TimeGenerated) \
             by SessionPoolName, bin(TimeGenerated, 5m) | order by SessionPoolName asc, TimeGenerated asc",
        )
        .unwrap();
    insta::assert_snapshot!("summary_table", r.render_table());
    let r = f
        .query("AppEnvSessionLifecycleLogs | project TimeGenerated, OperationName, Level, Log | order by TimeGenerated asc | take 3")
        .unwrap();
    insta::assert_json_snapshot!("lifecycle_json", r.to_json());
}
