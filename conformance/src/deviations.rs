//! The known deviations of `conformance/DEVIATIONS.md`, by id: every table row there starts
//! with its id in backticks (`` | `capacity-429` | ... ``), and cases name those ids in
//! [`crate::case::Ctx::expect_azure`].

/// The document, built in.
pub const TEXT: &str = include_str!("../DEVIATIONS.md");

/// Every deviation id of the document, in order.
pub fn ids() -> Vec<&'static str> {
    TEXT.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(id, _)| id))
        .collect()
}

/// Whether `id` is listed.
pub fn is_listed(id: &str) -> bool {
    ids().contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let ids = ids();
        assert!(ids.len() >= 10, "{ids:?}");
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "duplicate ids in DEVIATIONS.md");
        for id in ids {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn every_id_a_case_names_is_listed() {
        let src = [
            include_str!("suites/arm.rs"),
            include_str!("suites/identity.rs"),
            include_str!("suites/dataplane.rs"),
            include_str!("suites/lifecycle.rs"),
            include_str!("suites/probes.rs"),
            include_str!("suites/isolation.rs"),
            include_str!("suites/observability.rs"),
        ];
        for text in src {
            for part in text.split("expect_azure(").skip(1) {
                let id = part.split('"').nth(1).unwrap_or_default();
                assert!(
                    is_listed(id),
                    "case names deviation `{id}`, which DEVIATIONS.md lacks"
                );
            }
        }
    }
}
