//! The `timeouts { create read update delete }` block (Go duration strings like `30m`,
//! `1h30m`, `90s`), its schema and how an operation picks its deadline.

use std::time::Duration;

use crate::plugin::schema::{Attribute, Block, NestedBlock};
use crate::plugin::Value;

/// Default timeouts of one resource type.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Create.
    pub create: Duration,
    /// Read.
    pub read: Duration,
    /// Update.
    pub update: Duration,
    /// Delete.
    pub delete: Duration,
}

/// azurerm's session pool defaults: 30 minutes, read 5 minutes.
pub const POOL_DEFAULTS: Defaults = Defaults {
    create: Duration::from_secs(1800),
    read: Duration::from_secs(300),
    update: Duration::from_secs(1800),
    delete: Duration::from_secs(1800),
};

/// The `timeouts` block declaration.
pub fn block(d: &Defaults) -> NestedBlock {
    let attr = |name: &str, dur: Duration| {
        Attribute::string(name).optional().description(format!(
            "How long to wait for {name} (a duration like `30m`, `1h`, `90s`). Default `{}`.",
            format_duration(dur)
        ))
    };
    NestedBlock::single(
        "timeouts",
        Block::new()
            .description("Per-operation time limits.")
            .attribute(attr("create", d.create))
            .attribute(attr("read", d.read))
            .attribute(attr("update", d.update))
            .attribute(attr("delete", d.delete)),
    )
}

/// The timeout of operation `op` (`create`, `read`, `update`, `delete`) from a state/config value.
pub fn get(state: &Value, op: &str, defaults: &Defaults) -> Duration {
    let fallback = match op {
        "create" => defaults.create,
        "read" => defaults.read,
        "update" => defaults.update,
        _ => defaults.delete,
    };
    state
        .get("timeouts")
        .get(op)
        .as_str()
        .and_then(|s| parse_duration(s).ok())
        .unwrap_or(fallback)
}

/// Parses a Go-style duration: one or more `<number><unit>` with units `h`, `m`, `s`, `ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration; use forms like \"30m\", \"1h30m\" or \"90s\"");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        total += n * mult;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1.0e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the way the docs show defaults (`30m`, `5m`, `1h`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "m", "30", "30x", "1h 30m", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn get_uses_defaults() {
        let v = Value::object([("timeouts", Value::object([("create", Value::from("2m"))]))]);
        assert_eq!(get(&v, "create", &POOL_DEFAULTS), Duration::from_secs(120));
        assert_eq!(get(&v, "read", &POOL_DEFAULTS), Duration::from_secs(300));
        assert_eq!(format_duration(POOL_DEFAULTS.create), "30m");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn round_trips_minutes(m in 1u64..100000) {
            prop_assert_eq!(parse_duration(&format!("{m}m")).unwrap(), Duration::from_secs(m * 60));
        }
    }
}
