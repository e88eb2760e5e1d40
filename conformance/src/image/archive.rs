//! What an image file holds, read without loading it: format (`docker save` or OCI archive),
//! size, layer count, declared ports (`ExposedPorts`), entrypoint and command. The check prints
//! it and uses the declared ports to explain a wrong `--target-port`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// Why an image file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file cannot be opened or read as a tar.
    #[error("cannot read the image file {path}: {why}; pass a `docker save` tar or an OCI archive tar (`docker save -o app.tar IMAGE`)")]
    Read {
        /// The file.
        path: String,
        /// The error.
        why: String,
    },
    /// A tar with neither `manifest.json` nor `index.json`.
    #[error("{0} is neither a `docker save` tar (no manifest.json) nor an OCI archive (no index.json); create it with `docker save -o app.tar IMAGE` or `skopeo copy docker-daemon:IMAGE oci-archive:app.tar`")]
    Unknown(String),
    /// The manifests are not what the format says.
    #[error("{path}: {why}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// The format of an image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save`.
    DockerSave,
    /// OCI image layout in a tar.
    OciArchive,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::DockerSave => "docker save tar",
            Format::OciArchive => "OCI archive",
        })
    }
}

/// The facts the check reports about an image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// Its format.
    pub format: Format,
    /// File size in bytes.
    pub bytes: u64,
    /// Number of layers of the (first) image.
    pub layers: usize,
    /// Ports of `ExposedPorts`, e.g. `8080/tcp`.
    pub exposed_ports: Vec<String>,
    /// `Entrypoint` + `Cmd`, joined.
    pub command: Vec<String>,
    /// Names the file gives the image (`RepoTags` or the OCI ref annotation).
    pub names: Vec<String>,
}

/// Reads `path` (a tar) and returns what it holds.
pub fn inspect(path: &Path) -> Result<ImageFacts, ArchiveError> {
    let p = path.display().to_string();
    let read_err = |why: String| ArchiveError::Read {
        path: p.clone(),
        why,
    };
    let bytes = std::fs::metadata(path)
        .map_err(|e| read_err(e.to_string()))?
        .len();
    let file = std::fs::File::open(path).map_err(|e| read_err(e.to_string()))?;
    // Only small JSON files are kept: manifests, indexes and configs.
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut ar = tar::Archive::new(file);
    for entry in ar.entries().map_err(|e| read_err(e.to_string()))? {
        let mut entry = entry.map_err(|e| read_err(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| read_err(e.to_string()))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if entry.header().entry_type().is_file() && entry.size() <= 1024 * 1024 {
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| read_err(e.to_string()))?;
            if buf.first() == Some(&b'{') || buf.first() == Some(&b'[') {
                files.insert(name, buf);
            }
        }
    }
    facts_from_files(&files, bytes, &p)
}

/// The facts from the JSON files of an image tar (path -> content).
pub fn facts_from_files(
    files: &BTreeMap<String, Vec<u8>>,
    bytes: u64,
    path: &str,
) -> Result<ImageFacts, ArchiveError> {
    let bad = |why: &str| ArchiveError::Malformed {
        path: path.to_string(),
        why: why.to_string(),
    };
    let json = |name: &str| -> Result<Value, ArchiveError> {
        let b = files
            .get(name)
            .ok_or_else(|| bad(&format!("{name} is missing from the archive")))?;
        serde_json::from_slice(b).map_err(|e| bad(&format!("{name} is not JSON: {e}")))
    };
    let blob = |digest: &str| -> String {
        let (alg, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        format!("blobs/{alg}/{hex}")
    };
    if files.contains_key("manifest.json") {
        let m = json("manifest.json")?;
        let first = m
            .as_array()
            .and_then(|a| a.first())
            .ok_or_else(|| bad("manifest.json lists no image"))?;
        let config_name = first["Config"]
            .as_str()
            .ok_or_else(|| bad("manifest.json has no Config"))?;
        let config = json(config_name)?;
        let layers = first["Layers"].as_array().map(Vec::len).unwrap_or(0);
        let names = strings(&first["RepoTags"]);
        return Ok(facts(Format::DockerSave, bytes, layers, &config, names));
    }
    if files.contains_key("index.json") {
        let index = json("index.json")?;
        let m = index["manifests"]
            .as_array()
            .and_then(|a| a.first())
            .ok_or_else(|| bad("index.json lists no manifest"))?;
        let names = m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .map(|s| vec![s.to_string()])
            .unwrap_or_default();
        let mut manifest = json(&blob(
            m["digest"]
                .as_str()
                .ok_or_else(|| bad("index.json: manifest without digest"))?,
        ))?;
        // An index of platforms: take linux/amd64 (or the first).
        if let Some(list) = manifest["manifests"].as_array() {
            let pick = list
                .iter()
                .find(|d| {
                    d["platform"]["architecture"] == "amd64" && d["platform"]["os"] == "linux"
                })
                .or(list.first())
                .ok_or_else(|| bad("the image index lists no manifest"))?;
            manifest = json(&blob(pick["digest"].as_str().unwrap_or_default()))?;
        }
        let config = json(&blob(
            manifest["config"]["digest"]
                .as_str()
                .ok_or_else(|| bad("the manifest has no config"))?,
        ))?;
        let layers = manifest["layers"].as_array().map(Vec::len).unwrap_or(0);
        return Ok(facts(Format::OciArchive, bytes, layers, &config, names));
    }
    Err(ArchiveError::Unknown(path.to_string()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn facts(
    format: Format,
    bytes: u64,
    layers: usize,
    config: &Value,
    names: Vec<String>,
) -> ImageFacts {
    let c = &config["config"];
    let mut exposed_ports: Vec<String> = c["ExposedPorts"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    exposed_ports.sort();
    let mut command = strings(&c["Entrypoint"]);
    command.extend(strings(&c["Cmd"]));
    ImageFacts {
        format,
        bytes,
        layers,
        exposed_ports,
        command,
        names,
    }
}

/// `1.5 MiB` style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(items: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_docker_save() {
        let f = map(&[
            (
                "manifest.json",
                r#"[{"Config":"abc.json","RepoTags":["localhost/app:v1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#,
            ),
            (
                "abc.json",
                r#"{"config":{"ExposedPorts":{"9090/tcp":{},"8080/tcp":{}},"Entrypoint":["/app/x"],"Cmd":["--serve"]}}"#,
            ),
        ]);
        let f = facts_from_files(&f, 2048, "app.tar").unwrap();
        assert_eq!(f.format, Format::DockerSave);
        assert_eq!(f.layers, 2);
        assert_eq!(f.exposed_ports, vec!["8080/tcp", "9090/tcp"]);
        assert_eq!(f.command, vec!["/app/x", "--serve"]);
        assert_eq!(f.names, vec!["localhost/app:v1"]);
    }

    #[test]
    fn reads_oci_archives_and_indexes() {
        let f = map(&[
            (
                "index.json",
                r#"{"manifests":[{"digest":"sha256:aa","annotations":{"org.opencontainers.image.ref.name":"v1"}}]}"#,
            ),
            (
                "blobs/sha256/aa",
                r#"{"manifests":[{"digest":"sha256:bb","platform":{"os":"linux","architecture":"arm64"}},{"digest":"sha256:cc","platform":{"os":"linux","architecture":"amd64"}}]}"#,
            ),
            (
                "blobs/sha256/cc",
                r#"{"config":{"digest":"sha256:dd"},"layers":[{},{},{}]}"#,
            ),
            ("blobs/sha256/dd", r#"{"config":{}}"#),
        ]);
        let f = facts_from_files(&f, 1, "app.tar").unwrap();
        assert_eq!(f.format, Format::OciArchive);
        assert_eq!(f.layers, 3);
        assert!(f.exposed_ports.is_empty());
        assert_eq!(f.names, vec!["v1"]);
    }

    #[test]
    fn says_what_is_wrong() {
        let e = facts_from_files(&map(&[("x.json", "{}")]), 1, "a.tar").unwrap_err();
        assert!(e.to_string().contains("docker save -o app.tar"), "{e}");
        let e = facts_from_files(&map(&[("manifest.json", "[]")]), 1, "a.tar").unwrap_err();
        assert!(e.to_string().contains("lists no image"), "{e}");
        let e = inspect(Path::new("/nonexistent.tar")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent.tar"), "{e}");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
