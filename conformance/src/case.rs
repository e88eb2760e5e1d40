//! The case framework: a [`Case`] is one named check of one suite, an async function run
//! against a [`Ctx`] (the target plus what the case has sent so far).
//!
//! # How a suite registers cases
//!
//! A suite is a module with a `pub fn cases() -> Vec<Case>`, built with the [`case!`] macro:
//!
//! ```ignore
//! use crate::case::{Case, CaseResult, Ctx, Needs};
//!
//! pub fn cases() -> Vec<Case> {
//!     vec![
//!         crate::case!("mysuite", "does_a_thing", Needs::Arm, "one line: what it proves", does_a_thing),
//!     ]
//! }
//!
//! async fn does_a_thing(ctx: Ctx) -> CaseResult {
//!     let resp = ctx.arm(http::Method::GET, &ctx.target().group_path(), None).await?;
//!     ctx.status(&resp, &[200], "GET the resource group")?;
//!     Ok(())
//! }
//! ```
//!
//! and one line in [`registry`] adds its `cases()` to the list. Case names are unique within a
//! suite; `--list` prints `suite/name  purpose`, `--suite NAME` selects suites and
//! `--case SUITE/NAME` single cases.
//!
//! A case returns `Ok(())` (passed), `Err(Failure::Fail)` (failed: the runner prints the last
//! exchange the case recorded, i.e. the request and response that failed), or
//! `Err(Failure::Skip)` (skipped, with the reason). Where the emulator knowingly differs from
//! Azure, a case checks Azure's behaviour with [`Ctx::expect_azure`] naming the deviation id of
//! `conformance/DEVIATIONS.md`: on the emulator the difference is reported as that known
//! deviation, on Azure it is a failure. Resources a case creates are registered with
//! [`crate::target::Target::track`] (the pool helpers do it), so the run deletes them at the
//! end, also after a failure or Ctrl-C.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::Value;

use crate::http::{self, Exchange, Req, Resp};
use crate::target::{Scope, Target};

/// What a case's function returns.
pub type CaseResult = Result<(), Failure>;
/// The boxed future of a case.
pub type CaseFuture = Pin<Box<dyn Future<Output = CaseResult> + Send>>;
/// A case's function.
pub type CaseFn = fn(Ctx) -> CaseFuture;

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The behaviour differs from what the case expects: what was wrong.
    Fail(String),
    /// The case cannot run against this target: why.
    Skip(String),
}

/// What a case needs from the target beyond ARM; the runner skips it (saying why) otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// ARM and the token endpoint only (pools it creates need not run sessions).
    Arm,
    /// Sessions of any kind (the fake ones too) running the sample session image.
    Sessions,
    /// Real sessions (microVMs of the qemu backend, or Azure's sandboxes): lifecycle, probes,
    /// isolation.
    Vm,
    /// A Log Analytics workspace on the target.
    Workspace,
    /// External tools (the terraform suite checks its own and skips with the reason).
    Tools,
}

/// One check.
#[derive(Clone)]
pub struct Case {
    /// The suite (`arm`, `identity`, ...).
    pub suite: &'static str,
    /// Unique within the suite.
    pub name: &'static str,
    /// What the case proves, one line.
    pub purpose: &'static str,
    /// What it needs of the target.
    pub needs: Needs,
    /// The check.
    pub run: CaseFn,
}

impl Case {
    /// `suite/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.suite, self.name)
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Case({})", self.id())
    }
}

/// Builds a [`Case`] from an `async fn(Ctx) -> CaseResult`.
#[macro_export]
macro_rules! case {
    ($suite:expr, $name:expr, $needs:expr, $purpose:expr, $f:path) => {
        $crate::case::Case {
            suite: $suite,
            name: $name,
            purpose: $purpose,
            needs: $needs,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}

/// Every suite's name, in run order.
pub const SUITES: &[&str] = &[
    "arm",
    "identity",
    "dataplane",
    "lifecycle",
    "probes",
    "isolation",
    "observability",
    "terraform",
];

/// Every case of every suite, in run order.
pub fn registry() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(crate::suites::arm::cases());
    all.extend(crate::suites::identity::cases());
    all.extend(crate::suites::dataplane::cases());
    all.extend(crate::suites::lifecycle::cases());
    all.extend(crate::suites::probes::cases());
    all.extend(crate::suites::isolation::cases());
    all.extend(crate::suites::observability::cases());
    all.extend(crate::suites::terraform::cases());
    all
}

/// Why a selection is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    /// `--suite` named no suite.
    #[error("unknown suite `{0}` in --suite: the suites are {1}")]
    UnknownSuite(String, String),
    /// `--suite` named a suite without cases in this build.
    #[error("suite `{0}` has no cases in this build")]
    EmptySuite(String),
    /// `--case` named no case.
    #[error("unknown case `{0}` in --case: `--list` prints every case as suite/name")]
    UnknownCase(String),
}

/// The cases of `suites` (all when empty) and `cases` (`suite/name`; all when empty), in
/// registry order.
pub fn select(all: &[Case], suites: &[String], cases: &[String]) -> Result<Vec<Case>, SelectError> {
    let known: Vec<&str> = SUITES.to_vec();
    for s in suites {
        if !known.contains(&s.as_str()) {
            return Err(SelectError::UnknownSuite(s.clone(), known.join(", ")));
        }
    }
    for s in suites {
        if !all.iter().any(|c| c.suite == s) {
            return Err(SelectError::EmptySuite(s.clone()));
        }
    }
    for c in cases {
        if !all.iter().any(|k| &k.id() == c) {
            return Err(SelectError::UnknownCase(c.clone()));
        }
    }
    Ok(all
        .iter()
        .filter(|c| suites.is_empty() || suites.iter().any(|s| s == c.suite))
        .filter(|c| cases.is_empty() || cases.contains(&c.id()))
        .cloned()
        .collect())
}

/// A known deviation a case observed on the emulator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviationSeen {
    /// Its id in `conformance/DEVIATIONS.md`.
    pub id: String,
    /// What the emulator answered.
    pub observed: String,
}

/// What a case runs with: the target and what the case has done so far. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    inner: Arc<CtxInner>,
}

struct CtxInner {
    target: Arc<Target>,
    case: String,
    exchanges: Mutex<Vec<Exchange>>,
    deviations: Mutex<Vec<DeviationSeen>>,
    counter: AtomicU32,
}

impl Ctx {
    /// A context for case `id` on `target`.
    pub fn new(target: Arc<Target>, id: &str) -> Self {
        Ctx {
            inner: Arc::new(CtxInner {
                target,
                case: id.to_string(),
                exchanges: Mutex::new(Vec::new()),
                deviations: Mutex::new(Vec::new()),
                counter: AtomicU32::new(0),
            }),
        }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.inner.target
    }

    /// The target, shared (for tasks a case spawns).
    pub fn target_arc(&self) -> Arc<Target> {
        self.inner.target.clone()
    }

    /// `suite/name` of the case.
    pub fn case_id(&self) -> &str {
        &self.inner.case
    }

    /// A fresh resource name: `sc{run id}{n}{tag}`, lower-case letters and digits, unique
    /// within the run (Azure pool names are `^[a-z][a-z0-9]{2,62}$`).
    pub fn name(&self, tag: &str) -> String {
        let n = self.inner.counter.fetch_add(1, Ordering::Relaxed);
        let case: String = self
            .inner
            .case
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let tag: String = tag
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let mut name = format!(
            "sc{}{}{n}{tag}",
            self.target().run_id,
            &case[..case.len().min(20)]
        );
        name.truncate(63);
        name
    }

    /// Sends `req`, records the exchange; a transport error is a failure.
    pub async fn send(&self, req: Req) -> Result<Resp, Failure> {
        let what = format!("{} {}", req.method, req.url);
        let (res, ex) = http::send(&self.target().client, req).await;
        self.inner.exchanges.lock().expect("exchanges").push(ex);
        res.map_err(|e| Failure::Fail(format!("{what}: no answer: {e}")))
    }

    /// Sends an ARM request (`path_and_query` below the ARM endpoint) with an ARM token.
    pub async fn arm(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Resp, Failure> {
        let token = self.token(Scope::Arm).await?;
        let mut req = Req::new(method, self.target().arm_url(path_and_query)).bearer(&token);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req).await
    }

    /// A token for `scope` from the target's credentials.
    pub async fn token(&self, scope: Scope) -> Result<String, Failure> {
        self.target()
            .token(scope)
            .await
            .map_err(|e| Failure::Fail(format!("cannot get a token for {scope}: {e}")))
    }

    /// A data-plane request to `url` with a data-plane token.
    pub async fn data(&self, method: Method, url: &str) -> Result<Req, Failure> {
        let token = self.token(Scope::DataPlane).await?;
        Ok(Req::new(method, url).bearer(&token))
    }

    /// Checks Azure's behaviour where the emulator has a known deviation `id` (listed in
    /// `conformance/DEVIATIONS.md`): against Azure `azure_ok == false` fails the case; against
    /// the emulator it is recorded as the known deviation (the case goes on). An emulator that
    /// behaves like Azure after all fails the case: the deviation list is stale.
    pub fn expect_azure(&self, id: &str, azure_ok: bool, observed: &str) -> CaseResult {
        debug_assert!(
            crate::deviations::is_listed(id),
            "deviation id {id} is not in DEVIATIONS.md"
        );
        match (self.target().is_emulator(), azure_ok) {
            (false, true) => Ok(()),
            (false, false) => Err(Failure::Fail(format!(
                "Azure answered differently than documented ({id}): {observed}"
            ))),
            (true, false) => {
                self.inner
                    .deviations
                    .lock()
                    .expect("deviations")
                    .push(DeviationSeen {
                        id: id.to_string(),
                        observed: observed.to_string(),
                    });
                Ok(())
            }
            (true, true) => Err(Failure::Fail(format!(
                "the emulator now behaves as Azure does for deviation `{id}` ({observed}): \
                 remove it from conformance/DEVIATIONS.md and make the case strict"
            ))),
        }
    }

    /// Checks `resp`'s status is one of `want`.
    pub fn status(&self, resp: &Resp, want: &[u16], what: &str) -> CaseResult {
        if want.contains(&resp.status) {
            Ok(())
        } else {
            Err(Failure::Fail(format!(
                "{what}: expected status {}, got {}",
                want.iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
                resp.status
            )))
        }
    }

    /// Compares `value`, normalised, with the recorded snapshot `name` of this case (or
    /// records it with `--record`); see [`crate::snapshot`].
    pub fn snapshot(&self, name: &str, value: &Value) -> CaseResult {
        use crate::snapshot;
        let t = self.target();
        let got = t.normaliser().value(value);
        let file = snapshot::file_name(self.case_id(), name);
        if t.snapshots.record {
            let at = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let against = match t.kind {
                crate::target::Kind::Emulator => "sessions-emulator".to_string(),
                crate::target::Kind::Azure => format!("Azure ({})", t.location),
            };
            let text = snapshot::render(self.case_id(), name, &got, &against, &at);
            let path = t.snapshots.dir.join(&file);
            return std::fs::create_dir_all(&t.snapshots.dir)
                .and_then(|()| std::fs::write(&path, text))
                .map_err(|e| Failure::Fail(format!("cannot record {}: {e}", path.display())));
        }
        match snapshot::recorded(&file) {
            None => fail(format!(
                "no recorded snapshot {file}: run with --record to record it"
            )),
            Some(want) => match snapshot::first_difference(&want, &got, "$") {
                None => Ok(()),
                Some(d) => fail(format!("the answer differs from snapshot {file}: {d}")),
            },
        }
    }

    /// The last exchange (what failed, when a case fails).
    pub fn last_exchange(&self) -> Option<Exchange> {
        self.inner
            .exchanges
            .lock()
            .expect("exchanges")
            .last()
            .cloned()
    }

    /// How many exchanges the case has made.
    pub fn exchange_count(&self) -> usize {
        self.inner.exchanges.lock().expect("exchanges").len()
    }

    /// The deviations observed so far.
    pub fn deviations(&self) -> Vec<DeviationSeen> {
        self.inner.deviations.lock().expect("deviations").clone()
    }
}

/// `Err(Fail(msg))` unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> CaseResult {
    if cond {
        Ok(())
    } else {
        Err(Failure::Fail(msg()))
    }
}

/// `Err(Fail)` saying `what` differs, unless `got == want`.
pub fn ensure_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> CaseResult {
    if got == want {
        Ok(())
    } else {
        Err(Failure::Fail(format!(
            "{what}: expected {want:?}, got {got:?}"
        )))
    }
}

/// A failure with `msg`.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Fail(msg.into()))
}

/// A skip with `why`.
pub fn skip<T>(why: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Skip(why.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_id_is_unique_and_in_a_known_suite() {
        let all = registry();
        let mut ids: Vec<String> = all.iter().map(Case::id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate case ids");
        for c in &all {
            assert!(SUITES.contains(&c.suite), "{} in no known suite", c.id());
            assert!(!c.purpose.is_empty() && !c.purpose.contains('\n'));
        }
    }

    fn target(kind: crate::target::Kind) -> Arc<Target> {
        use crate::target::{auth::Credential, Sessions, TargetSpec};
        Arc::new(
            Target::new(TargetSpec {
                kind,
                arm: "https://management.azure.com".into(),
                authority: "https://login.microsoftonline.com".into(),
                tenant: "t".into(),
                subscription: "s".into(),
                resource_group: "rg".into(),
                environment_id: "/e".into(),
                location: "eastus".into(),
                workspace_id: None,
                log_analytics: "https://api.loganalytics.io".into(),
                sessions: Sessions::Real,
                time_scale: 1.0,
                image: "i".into(),
                run_id: "rabc".into(),
                ca_pem: None,
                credential: Credential::AzureCli,
            })
            .unwrap(),
        )
    }

    #[test]
    fn a_known_deviation_is_reported_on_the_emulator_and_fails_on_azure() {
        use crate::target::Kind;
        let emu = Ctx::new(target(Kind::Emulator), "arm/x");
        assert_eq!(
            emu.expect_azure("pool-endpoint-host", false, "127.0.0.1"),
            Ok(())
        );
        assert_eq!(emu.deviations()[0].id, "pool-endpoint-host");
        // An emulator that behaves like Azure makes the list stale: a failure.
        assert!(
            matches!(emu.expect_azure("pool-endpoint-host", true, "x"), Err(Failure::Fail(m)) if m.contains("DEVIATIONS.md"))
        );
        let azure = Ctx::new(target(Kind::Azure), "arm/x");
        assert_eq!(azure.expect_azure("pool-endpoint-host", true, "x"), Ok(()));
        assert!(matches!(
            azure.expect_azure("pool-endpoint-host", false, "x"),
            Err(Failure::Fail(_))
        ));
        assert!(azure.deviations().is_empty());
    }

    #[test]
    fn names_are_valid_pool_names_and_unique() {
        let ctx = Ctx::new(
            target(crate::target::Kind::Azure),
            "dataplane/allocation_by_identifier",
        );
        let a = ctx.name("pool");
        let b = ctx.name("pool");
        assert_ne!(a, b);
        for n in [a, b, ctx.name(&"x".repeat(100))] {
            assert!(n.len() <= 63 && n.starts_with("scrabc"), "{n}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{n}"
            );
        }
    }

    #[test]
    fn selection_by_suite_and_case_and_its_errors() {
        let all = registry();
        let arm = select(&all, &["arm".into()], &[]).unwrap();
        assert!(!arm.is_empty() && arm.iter().all(|c| c.suite == "arm"));
        let one = arm[0].id();
        assert_eq!(
            select(&all, &[], std::slice::from_ref(&one)).unwrap().len(),
            1
        );
        assert!(matches!(
            select(&all, &["nope".into()], &[]),
            Err(SelectError::UnknownSuite(..))
        ));
        assert!(matches!(
            select(&all, &[], &["arm/nope".into()]),
            Err(SelectError::UnknownCase(..))
        ));
    }
}
