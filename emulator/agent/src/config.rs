//! Per-session configuration sent by the host, and how it combines with the image config:
//! Kubernetes semantics (pool `command` replaces `Entrypoint`, pool `args` replaces `Cmd`,
//! pool env overrides image env by name).

use crate::json::Value;

/// Default `PATH` when the image sets none (what container runtimes use).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything the host tells the agent about one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionConfig {
    /// Session id.
    pub session_id: String,
    /// Guest hostname.
    pub hostname: String,
    /// Image `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// Image `Cmd`.
    pub cmd: Vec<String>,
    /// Image `Env` (`NAME=value`).
    pub image_env: Vec<String>,
    /// Image `WorkingDir`.
    pub working_dir: Option<String>,
    /// Image `User`.
    pub user: Option<String>,
    /// Pool `command`.
    pub command: Vec<String>,
    /// Pool `args`.
    pub args: Vec<String>,
    /// Pool env (`NAME=value`), secrets resolved.
    pub env: Vec<String>,
    /// Fresh entropy to mix into the kernel pool before anything else runs.
    pub entropy: Vec<u8>,
    /// Host wall clock (ms since the epoch) to set, so clones of an old template have the
    /// right time.
    pub unix_ms: Option<i64>,
    /// Name of this (the main) container; its console lines carry it in multi-container
    /// sessions.
    pub name: String,
    /// CPU limit in millicores (cgroup `cpu.max`), when given.
    pub cpu_millis: Option<u64>,
    /// Memory limit in MiB (cgroup `memory.max`), when given.
    pub memory_mib: Option<u64>,
    /// The session's other containers.
    pub containers: Vec<ContainerConfig>,
    /// The `IDENTITY_HEADER` value when the session has managed identities: the agent then
    /// serves `IDENTITY_ENDPOINT` and sets both variables for every container.
    pub identity_header: Option<String>,
}

/// One more container of the session: its name, its root directory, and its process config
/// (image config, command, args, env, resources) in a [`SessionConfig`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerConfig {
    /// Container name.
    pub name: String,
    /// Its root filesystem (`/.vm/containers/{name}`).
    pub root: String,
    /// Its process config.
    pub process: SessionConfig,
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(items @ Value::Array(_)) => items
            .as_array()
            .unwrap_or_default()
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("field `{field}` must hold only strings"))
            })
            .collect(),
        Some(_) => Err(format!("field `{field}` must be an array of strings")),
    }
}

fn opt_string(v: &Value, field: &str) -> Result<Option<String>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("field `{field}` must be a string")),
    }
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err("field `entropy` must be hex with an even length".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| "field `entropy` must be hex".to_string())
        })
        .collect()
}

fn opt_u64(v: &Value, field: &str) -> Result<Option<u64>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(t) => t
            .as_i64()
            .and_then(|n| u64::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("field `{field}` must be a non-negative integer")),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl SessionConfig {
    /// Reads a `config` message.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let mut containers = Vec::new();
        match v.get("containers") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, c) in items.iter().enumerate() {
                    let name = opt_string(c, "name")?.unwrap_or_default();
                    if !valid_name(&name) {
                        return Err(format!(
                            "containers[{i}].name {name:?} is not a container name"
                        ));
                    }
                    let root = opt_string(c, "root")?
                        .ok_or_else(|| format!("containers[{i}].root is missing"))?;
                    let mut process =
                        SessionConfig::from_json(c).map_err(|e| format!("containers[{i}]: {e}"))?;
                    process.containers.clear();
                    process.identity_header = None;
                    containers.push(ContainerConfig {
                        name,
                        root,
                        process,
                    });
                }
            }
            Some(_) => return Err("field `containers` must be an array".into()),
        }
        let base = Self::process_from_json(v)?;
        Ok(Self {
            name: opt_string(v, "name")?.unwrap_or_else(|| "main".into()),
            containers,
            identity_header: opt_string(v, "identity_header")?,
            ..base
        })
    }

    fn process_from_json(v: &Value) -> Result<Self, String> {
        let session_id = opt_string(v, "session_id")?.unwrap_or_default();
        let hostname = opt_string(v, "hostname")?.unwrap_or_else(|| session_id.clone());
        if hostname.len() > 64 {
            return Err("field `hostname` is longer than 64 bytes".into());
        }
        Ok(Self {
            session_id,
            hostname,
            entrypoint: strings(v, "entrypoint")?,
            cmd: strings(v, "cmd")?,
            image_env: strings(v, "image_env")?,
            working_dir: opt_string(v, "working_dir")?,
            user: opt_string(v, "user")?,
            command: strings(v, "command")?,
            args: strings(v, "args")?,
            env: strings(v, "env")?,
            entropy: unhex(&opt_string(v, "entropy")?.unwrap_or_default())?,
            unix_ms: match v.get("unix_ms") {
                None | Some(Value::Null) => None,
                Some(t) => Some(t.as_i64().ok_or("field `unix_ms` must be an integer")?),
            },
            name: String::new(),
            cpu_millis: opt_u64(v, "cpu_millis")?,
            memory_mib: opt_u64(v, "memory_mib")?,
            containers: Vec::new(),
            identity_header: None,
        })
    }

    /// The process argv: `command` replaces `Entrypoint` (and drops `Cmd`), `args` replaces `Cmd`.
    pub fn argv(&self) -> Result<Vec<String>, String> {
        let argv: Vec<String> = if !self.command.is_empty() {
            self.command.iter().chain(&self.args).cloned().collect()
        } else if !self.args.is_empty() {
            self.entrypoint.iter().chain(&self.args).cloned().collect()
        } else {
            self.entrypoint.iter().chain(&self.cmd).cloned().collect()
        };
        if argv.is_empty() || argv[0].is_empty() {
            return Err(
                "nothing to run: the image has no Entrypoint/Cmd and the pool sets no command"
                    .into(),
            );
        }
        Ok(argv)
    }

    /// The process environment: image env, then pool env (overriding by name), plus `PATH`,
    /// `HOSTNAME` and `HOME` defaults.
    pub fn environment(&self, home: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut set = |pair: &str| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k.is_empty() {
                return;
            }
            match out.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.to_owned(),
                None => out.push((k.to_owned(), v.to_owned())),
            }
        };
        set(&format!("PATH={DEFAULT_PATH}"));
        set(&format!("HOSTNAME={}", self.hostname));
        set(&format!("HOME={home}"));
        for pair in self.image_env.iter().chain(&self.env) {
            set(pair);
        }
        out
    }
}

/// A resolved `User`: uid, gid and home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Home directory (`/root` for root or unknown users).
    pub home: String,
}

/// Resolves `uid`, `uid:gid`, `name`, `name:group` against passwd/group file contents.
pub fn resolve_user(user: Option<&str>, passwd: &str, group: &str) -> Result<Identity, String> {
    let root = Identity {
        uid: 0,
        gid: 0,
        home: "/root".into(),
    };
    let Some(user) = user.filter(|u| !u.is_empty()) else {
        return Ok(root);
    };
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd_entry = |pred: &dyn Fn(&[&str]) -> bool| {
        passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 6 && pred(f))
    };
    let (uid, mut gid, home) = if let Ok(uid) = u.parse::<u32>() {
        match passwd_entry(&|f| f[2] == u) {
            Some(f) => (uid, f[3].parse().unwrap_or(uid), f[5].to_owned()),
            None => (uid, uid, "/".to_owned()),
        }
    } else {
        let f = passwd_entry(&|f| f[0] == u)
            .ok_or_else(|| format!("image `User` {u:?} is not in /etc/passwd"))?;
        let uid = f[2]
            .parse()
            .map_err(|_| format!("bad uid for {u:?} in /etc/passwd"))?;
        (uid, f[3].parse().unwrap_or(uid), f[5].to_owned())
    };
    if let Some(g) = g {
        gid = match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 3 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| format!("image `User` group {g:?} is not in /etc/group"))?,
        };
    }
    Ok(Identity {
        uid,
        gid,
        home: if uid == 0 { "/root".into() } else { home },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SessionConfig {
        SessionConfig {
            hostname: "s1".into(),
            entrypoint: vec!["/app/server".into()],
            cmd: vec!["--port".into(), "8080".into()],
            image_env: vec!["A=image".into(), "B=image".into()],
            ..SessionConfig::default()
        }
    }

    #[test]
    fn kubernetes_override_rules() {
        let mut c = cfg();
        assert_eq!(c.argv().expect("argv"), ["/app/server", "--port", "8080"]);
        c.args = vec!["--debug".into()];
        assert_eq!(c.argv().expect("argv"), ["/app/server", "--debug"]);
        c.command = vec!["/bin/other".into()];
        assert_eq!(c.argv().expect("argv"), ["/bin/other", "--debug"]);
        c.args.clear();
        assert_eq!(c.argv().expect("argv"), ["/bin/other"]);
        assert!(SessionConfig::default().argv().is_err());
    }

    #[test]
    fn pool_env_overrides_image_env() {
        let mut c = cfg();
        c.env = vec!["B=pool".into(), "C=pool".into()];
        let env = c.environment("/root");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("A"), Some("image"));
        assert_eq!(get("B"), Some("pool"));
        assert_eq!(get("C"), Some("pool"));
        assert_eq!(get("PATH"), Some(DEFAULT_PATH));
        assert_eq!(get("HOSTNAME"), Some("s1"));
    }

    #[test]
    fn users() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n";
        let group = "root:x:0:\nstaff:x:50:\n";
        assert_eq!(resolve_user(None, passwd, group).expect("root").uid, 0);
        let app = resolve_user(Some("app"), passwd, group).expect("app");
        assert_eq!(
            (app.uid, app.gid, app.home.as_str()),
            (1000, 1001, "/home/app")
        );
        let mixed = resolve_user(Some("app:staff"), passwd, group).expect("app:staff");
        assert_eq!((mixed.uid, mixed.gid), (1000, 50));
        let numeric = resolve_user(Some("4242:7"), passwd, group).expect("numeric");
        assert_eq!((numeric.uid, numeric.gid), (4242, 7));
        assert!(resolve_user(Some("ghost"), passwd, group)
            .unwrap_err()
            .contains("ghost"));
    }

    #[test]
    fn config_from_json() {
        let v = crate::json::parse(
            r#"{"v":1,"type":"config","session_id":"s","entrypoint":["/a"],"entropy":"00ff","env":["X=1"]}"#,
        )
        .expect("json");
        let c = SessionConfig::from_json(&v).expect("config");
        assert_eq!(
            (c.hostname.as_str(), c.entropy.as_slice()),
            ("s", &[0u8, 255][..])
        );
        let bad = crate::json::parse(r#"{"entrypoint":"x"}"#).expect("json");
        assert!(SessionConfig::from_json(&bad)
            .unwrap_err()
            .contains("`entrypoint`"));
    }

    #[test]
    fn containers_and_identity_from_json() {
        let v = crate::json::parse(
            r#"{"v":1,"type":"config","name":"app","entrypoint":["/a"],"cpu_millis":500,"memory_mib":256,
               "identity_header":"h","containers":[{"name":"side","root":"/.vm/containers/side",
               "entrypoint":["/b"],"args":["x"],"env":["P=1"],"cpu_millis":250,"memory_mib":128}]}"#,
        )
        .expect("json");
        let c = SessionConfig::from_json(&v).expect("config");
        assert_eq!(
            (c.name.as_str(), c.cpu_millis, c.memory_mib),
            ("app", Some(500), Some(256))
        );
        assert_eq!(c.identity_header.as_deref(), Some("h"));
        let side = &c.containers[0];
        assert_eq!(
            (side.name.as_str(), side.root.as_str()),
            ("side", "/.vm/containers/side")
        );
        assert_eq!(side.process.argv().expect("argv"), ["/b", "x"]);
        assert_eq!(side.process.memory_mib, Some(128));
        let bad =
            crate::json::parse(r#"{"containers":[{"name":"../x","root":"/r"}]}"#).expect("json");
        assert!(SessionConfig::from_json(&bad)
            .unwrap_err()
            .contains("containers[0].name"));
    }
}
