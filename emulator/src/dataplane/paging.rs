//! `api-version` and `skip` checks of the `.management/*` operations, and the paging of
//! `listSessions`: pages of at most [`PAGE_SIZE`] sessions, `nextLink` an absolute URL with the
//! next `skip` (and the caller's `api-version`), or `null` on the last page.

use super::error::DataPlaneError;

/// Most sessions in one `listSessions` page.
pub const PAGE_SIZE: usize = 300;

/// Data-plane api-versions the `.management/*` operations accept.
pub const API_VERSIONS: &[&str] = &[
    "2024-02-02-preview",
    "2024-08-02-preview",
    "2024-10-02-preview",
    "2025-02-02-preview",
    "2025-10-02-preview",
    "2026-07-01",
];

/// Checks the `api-version` query parameter of a management call.
pub fn check_api_version(v: Option<&str>) -> Result<&str, DataPlaneError> {
    match v {
        None | Some("") => Err(DataPlaneError::validation(
            "api-version",
            format!(
                "the query parameter `api-version` is required; supported versions: {}",
                API_VERSIONS.join(", ")
            ),
        )),
        Some(v) if API_VERSIONS.contains(&v) => Ok(v),
        Some(v) => Err(DataPlaneError::validation(
            "api-version",
            format!(
                "the api-version '{v}' is not supported; supported versions: {}",
                API_VERSIONS.join(", ")
            ),
        )),
    }
}

/// Parses the optional `skip` query parameter (default 0).
pub fn parse_skip(v: Option<&str>) -> Result<usize, DataPlaneError> {
    match v {
        None | Some("") => Ok(0),
        Some(s) => s.parse::<usize>().map_err(|_| {
            DataPlaneError::validation(
                "skip",
                format!("the query parameter `skip` must be a non-negative integer, got '{s}'"),
            )
        }),
    }
}

/// One page of a list: the slice to return and the `skip` of the next page, if any.
pub fn page<T>(items: &[T], skip: usize) -> (&[T], Option<usize>) {
    let start = skip.min(items.len());
    let end = start.saturating_add(PAGE_SIZE).min(items.len());
    let next = (end < items.len()).then_some(end);
    (&items[start..end], next)
}

/// The absolute `nextLink` for `listSessions`: `{endpoint}/.management/listSessions?api-version=..&skip=..`.
pub fn next_link(endpoint: &str, api_version: &str, skip: usize) -> String {
    format!(
        "{}/.management/listSessions?api-version={api_version}&skip={skip}",
        endpoint.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn api_version_rules() {
        assert!(check_api_version(Some("2025-02-02-preview")).is_ok());
        let e = check_api_version(None).expect_err("missing");
        assert_eq!(e.code(), "SessionRequestValidationFailed");
        assert!(check_api_version(Some("2020-01-01")).is_err());
    }

    #[test]
    fn skip_rules() {
        assert_eq!(parse_skip(None), Ok(0));
        assert_eq!(parse_skip(Some("300")), Ok(300));
        assert!(parse_skip(Some("-1")).is_err());
        assert!(parse_skip(Some("x")).is_err());
    }

    #[test]
    fn pages_of_301() {
        let items: Vec<u32> = (0..301).collect();
        let (p1, next) = page(&items, 0);
        assert_eq!((p1.len(), next), (300, Some(300)));
        let (p2, next) = page(&items, 300);
        assert_eq!((p2, next), (&[300u32][..], None));
        let (p3, next) = page(&items, 1000);
        assert_eq!((p3.len(), next), (0, None));
        assert_eq!(
            next_link("https://h/pools/s/rg/p/", "2025-02-02-preview", 300),
            "https://h/pools/s/rg/p/.management/listSessions?api-version=2025-02-02-preview&skip=300"
        );
    }

    proptest! {
        #[test]
        fn paging_visits_every_item_once(n in 0usize..1000) {
            let items: Vec<usize> = (0..n).collect();
            let mut seen = Vec::new();
            let mut skip = 0;
            loop {
                let (p, next) = page(&items, skip);
                prop_assert!(p.len() <= PAGE_SIZE);
                seen.extend_from_slice(p);
                match next { Some(s) => skip = s, None => break }
            }
            prop_assert_eq!(seen, items);
        }
    }
}
