//! Where rows go: the [`RouteTable`] the edge computes from diagnostic settings and
//! environments, and the interned [`RouteSet`]s every stored row points to.
//!
//! A row's destinations are decided once, when the row is produced (`LogStore::send`): the
//! route table in force at that instant names the workspace tables that receive it. A setting
//! created later never sees older rows (nothing is back-filled) and a setting deleted or
//! disabled stops the flow at once. Destinations are keyed by the workspace's `customerId`,
//! which is new for every workspace created, so a workspace deleted and created again under
//! the same name starts empty.
//!
//! Each distinct list of destinations is interned once as a [`RouteSetId`] (0 is the empty
//! set: rows no workspace receives, still kept for `sessions-emulator logs`); route sets are
//! persisted, so the ids stored in rows stay meaningful across restarts.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// A workspace table the emulator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `AppEnvSessionConsoleLogs` (diagnostic setting, category `AppEnvSessionConsoleLogs`).
    Console,
    /// `AppEnvSessionConsoleLogs_CL` (the environment's `appLogsConfiguration`).
    ConsoleCustom,
    /// `AppEnvSessionLifecycleLogs` (category `AppEnvSessionLifeCycleLogs`).
    Lifecycle,
    /// `AppEnvSessionPoolEventLogs` (category `AppEnvSessionPoolEventLogs`).
    PoolEvents,
    /// `AzureMetrics` (a pool's `AllMetrics` setting).
    Metrics,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 5] = [
        Table::Console,
        Table::ConsoleCustom,
        Table::Lifecycle,
        Table::PoolEvents,
        Table::Metrics,
    ];

    /// The Log Analytics table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Console => "AppEnvSessionConsoleLogs",
            Table::ConsoleCustom => "AppEnvSessionConsoleLogs_CL",
            Table::Lifecycle => "AppEnvSessionLifecycleLogs",
            Table::PoolEvents => "AppEnvSessionPoolEventLogs",
            Table::Metrics => "AzureMetrics",
        }
    }

    /// The table called `name` (exact spelling).
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(c: u8) -> Option<Table> {
        Table::ALL.get(usize::from(c)).copied()
    }
}

/// One destination: a table of a workspace (by `customerId`, lower-case).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    /// The workspace's `customerId`, lower-cased.
    pub workspace: Arc<str>,
    /// The table.
    pub table: Table,
}

impl Destination {
    /// A destination; `workspace` is lower-cased.
    pub fn new(workspace: &str, table: Table) -> Destination {
        Destination {
            workspace: Arc::from(workspace.to_ascii_lowercase()),
            table,
        }
    }
}

/// Id of an interned set of destinations (0: none).
pub type RouteSetId = u32;

/// The interned destination sets (append-only; ids are stable and persisted).
#[derive(Debug, Default)]
pub struct RouteSets {
    inner: Mutex<Interned>,
}

#[derive(Debug, Default)]
struct Interned {
    sets: Vec<Arc<[Destination]>>,
    index: HashMap<Arc<[Destination]>, RouteSetId>,
}

impl RouteSets {
    /// A registry holding only the empty set (id 0).
    pub fn new() -> RouteSets {
        let s = RouteSets::default();
        s.intern(Vec::new());
        s
    }

    /// The id of this set of destinations (sorted, deduplicated), interning it if new.
    pub fn intern(&self, mut dests: Vec<Destination>) -> RouteSetId {
        dests.sort();
        dests.dedup();
        let key: Arc<[Destination]> = Arc::from(dests);
        let mut g = self.inner.lock();
        if let Some(id) = g.index.get(&key) {
            return *id;
        }
        let id = g.sets.len() as RouteSetId;
        g.sets.push(key.clone());
        g.index.insert(key, id);
        id
    }

    /// Restores a persisted set under its id (start-up). Ids must arrive in order.
    pub fn restore(&self, id: RouteSetId, dests: Vec<Destination>) {
        let key: Arc<[Destination]> = Arc::from(dests);
        let mut g = self.inner.lock();
        while (g.sets.len() as RouteSetId) < id {
            // A gap (never written by this emulator): an empty placeholder keeps ids aligned.
            g.sets.push(Arc::from(Vec::new()));
        }
        if (g.sets.len() as RouteSetId) == id {
            g.sets.push(key.clone());
            g.index.entry(key).or_insert(id);
        }
    }

    /// Number of sets (ids `0..len`).
    pub fn len(&self) -> usize {
        self.inner.lock().sets.len()
    }

    /// Always false: the empty set (id 0) is always registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The destinations of set `id` (empty for an unknown id).
    pub fn get(&self, id: RouteSetId) -> Arc<[Destination]> {
        self.inner
            .lock()
            .sets
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// For each set id, whether it contains `dest` (index = id).
    pub fn containing(&self, workspace: &str, table: Table) -> Vec<bool> {
        self.inner
            .lock()
            .sets
            .iter()
            .map(|s| {
                s.iter()
                    .any(|d| d.table == table && d.workspace.eq_ignore_ascii_case(workspace))
            })
            .collect()
    }
}

/// The persisted text of a destination set: `customerId:code` items joined by `,`.
pub fn encode(dests: &[Destination]) -> String {
    dests
        .iter()
        .map(|d| format!("{}:{}", d.workspace, d.table.code()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses [`encode`]'s text (unknown items are skipped).
pub fn decode(text: &str) -> Vec<Destination> {
    text.split(',')
        .filter_map(|item| {
            let (ws, code) = item.rsplit_once(':')?;
            let table = Table::from_code(code.parse().ok()?)?;
            Some(Destination::new(ws, table))
        })
        .collect()
}

/// Which log stream a row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Console lines.
    Console,
    /// Lifecycle events.
    Lifecycle,
    /// Pool events.
    PoolEvents,
}

impl StreamKind {
    /// Every stream.
    pub const ALL: [StreamKind; 3] = [
        StreamKind::Console,
        StreamKind::Lifecycle,
        StreamKind::PoolEvents,
    ];

    /// Position in [`StreamKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            StreamKind::Console => 0,
            StreamKind::Lifecycle => 1,
            StreamKind::PoolEvents => 2,
        }
    }
}

/// What the edge knows about one workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceInfo {
    /// `customerId` (lower-case).
    pub customer_id: String,
    /// `retentionInDays`.
    pub retention_days: i64,
}

/// Destinations per environment and per pool, in force from the moment it is installed.
///
/// Built by the edge from diagnostic settings (`logs[]` on environments, `metrics[]` on pools)
/// and the environments' `appLogsConfiguration`; keys are lower-cased resource ids.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    /// environment key -> stream -> route set.
    environments: HashMap<String, [RouteSetId; 3]>,
    /// pool key -> route set of metric samples.
    pools: HashMap<String, RouteSetId>,
    /// Every workspace that exists, by `customerId` (lower-case).
    workspaces: HashMap<String, WorkspaceInfo>,
}

impl RouteTable {
    /// The route set of `stream` rows of pools in environment `env_key` (0 when none).
    pub fn for_environment(&self, env_key: &str, stream: StreamKind) -> RouteSetId {
        self.environments
            .get(env_key)
            .map_or(0, |s| s[stream.index()])
    }

    /// The route set of metric samples of pool `pool_key` (0 when none).
    pub fn for_pool(&self, pool_key: &str) -> RouteSetId {
        self.pools.get(pool_key).copied().unwrap_or(0)
    }

    /// The workspace with this `customerId` (case-insensitive).
    pub fn workspace(&self, customer_id: &str) -> Option<&WorkspaceInfo> {
        self.workspaces.get(&customer_id.to_ascii_lowercase())
    }

    /// The longest retention of any workspace (days; 0 without workspaces).
    pub fn longest_retention_days(&self) -> i64 {
        self.workspaces
            .values()
            .map(|w| w.retention_days)
            .max()
            .unwrap_or(0)
    }
}

/// Builds a [`RouteTable`], interning its destination sets.
#[derive(Debug, Default)]
pub struct RouteTableBuilder {
    environments: HashMap<String, [Vec<Destination>; 3]>,
    pools: HashMap<String, Vec<Destination>>,
    workspaces: HashMap<String, WorkspaceInfo>,
}

impl RouteTableBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A workspace exists.
    pub fn workspace(&mut self, customer_id: &str, retention_days: i64) -> &mut Self {
        let id = customer_id.to_ascii_lowercase();
        self.workspaces.insert(
            id.clone(),
            WorkspaceInfo {
                customer_id: id,
                retention_days,
            },
        );
        self
    }

    /// Rows of `stream` from pools of environment `env_key` go to `table` of `workspace`.
    pub fn environment_route(
        &mut self,
        env_key: &str,
        stream: StreamKind,
        workspace: &str,
        table: Table,
    ) -> &mut Self {
        self.environments
            .entry(env_key.to_ascii_lowercase())
            .or_default()[stream.index()]
        .push(Destination::new(workspace, table));
        self
    }

    /// Metric samples of pool `pool_key` go to `AzureMetrics` of `workspace`.
    pub fn pool_metrics_route(&mut self, pool_key: &str, workspace: &str) -> &mut Self {
        self.pools
            .entry(pool_key.to_ascii_lowercase())
            .or_default()
            .push(Destination::new(workspace, Table::Metrics));
        self
    }

    /// The table, with every destination set interned in `sets`.
    pub fn build(self, sets: &RouteSets) -> RouteTable {
        RouteTable {
            environments: self
                .environments
                .into_iter()
                .map(|(k, [a, b, c])| (k, [sets.intern(a), sets.intern(b), sets.intern(c)]))
                .collect(),
            pools: self
                .pools
                .into_iter()
                .map(|(k, d)| (k, sets.intern(d)))
                .collect(),
            workspaces: self.workspaces,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_interned_order_free() {
        let sets = RouteSets::new();
        let a = Destination::new("WS1", Table::Console);
        let b = Destination::new("ws2", Table::ConsoleCustom);
        let x = sets.intern(vec![a.clone(), b.clone()]);
        let y = sets.intern(vec![b.clone(), a.clone(), a.clone()]);
        assert_eq!(x, y);
        assert_ne!(x, 0);
        assert_eq!(sets.intern(Vec::new()), 0);
        assert_eq!(sets.containing("ws1", Table::Console), vec![false, true]);
        assert_eq!(sets.containing("ws1", Table::Lifecycle), vec![false, false]);
        assert_eq!(decode(&encode(&sets.get(x))), sets.get(x).to_vec());
    }

    #[test]
    fn restore_keeps_ids() {
        let sets = RouteSets::new();
        sets.restore(2, vec![Destination::new("w", Table::Metrics)]);
        assert_eq!(sets.len(), 3);
        assert_eq!(sets.intern(vec![Destination::new("w", Table::Metrics)]), 2);
    }

    #[test]
    fn table_lookups() {
        let sets = RouteSets::new();
        let mut b = RouteTableBuilder::new();
        b.workspace("W", 30)
            .environment_route("/ENV", StreamKind::Console, "w", Table::Console)
            .pool_metrics_route("/pool", "w");
        let t = b.build(&sets);
        assert_ne!(t.for_environment("/env", StreamKind::Console), 0);
        assert_eq!(t.for_environment("/env", StreamKind::Lifecycle), 0);
        assert_eq!(t.for_environment("/other", StreamKind::Console), 0);
        assert_ne!(t.for_pool("/pool"), 0);
        assert_eq!(t.workspace("W").map(|w| w.retention_days), Some(30));
        assert_eq!(t.longest_retention_days(), 30);
        for table in Table::ALL {
            assert_eq!(Table::from_name(table.name()), Some(table));
        }
    }
}
