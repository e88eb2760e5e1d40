//! Choosing the image for our guests (linux/amd64) from a multi-platform index, for loads from
//! disk, registry pulls and the store alike.

use super::error::{ImageError, Result};
use super::spec::{Descriptor, Index};

/// Picks the linux/amd64 manifest from an index.
pub fn choose_platform<'a>(idx: &'a Index, what: &str) -> Result<&'a Descriptor> {
    let candidates: Vec<&Descriptor> = idx
        .manifests
        .iter()
        .filter(|m| {
            m.annotations
                .get("vnd.docker.reference.type")
                .map(String::as_str)
                != Some("attestation-manifest")
        })
        .collect();
    if let Some(d) = candidates.iter().find(|m| {
        m.platform
            .as_ref()
            .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
    }) {
        return Ok(d);
    }
    if candidates.len() == 1 && candidates[0].platform.is_none() {
        return Ok(candidates[0]);
    }
    let offered: Vec<String> = candidates
        .iter()
        .map(|m| {
            m.platform.as_ref().map_or("unknown".to_string(), |p| {
                format!("{}/{}", p.os, p.architecture)
            })
        })
        .collect();
    Err(ImageError::NoMatchingPlatform {
        reference: what.to_string(),
        offered: if offered.is_empty() {
            "none".into()
        } else {
            offered.join(", ")
        },
    })
}
