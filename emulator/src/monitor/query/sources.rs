//! Several workspaces read as one KQL source (the `workspaces` parameter): a table is the
//! rows of that table in each workspace, one workspace after the other.

use sessions_kql::{DataSource, Flow, Row, RowSink, ScanRequest, SourceError};
use sessions_runtime::logstore::scan::WorkspaceSource;

/// The union of workspace sources.
#[derive(Debug)]
pub struct Sources(Vec<WorkspaceSource>);

impl Sources {
    /// The union of `sources`.
    pub fn new(sources: Vec<WorkspaceSource>) -> Sources {
        Sources(sources)
    }
}

/// Passes rows on and remembers whether the receiver asked to stop.
struct Watch<'a> {
    inner: &'a mut dyn RowSink,
    stopped: bool,
}

impl RowSink for Watch<'_> {
    fn push(&mut self, row: Row) -> Flow {
        let f = self.inner.push(row);
        if f == Flow::Stop {
            self.stopped = true;
        }
        f
    }
}

impl DataSource for Sources {
    fn scan(&self, request: &ScanRequest, sink: &mut dyn RowSink) -> Result<(), SourceError> {
        let mut watch = Watch {
            inner: sink,
            stopped: false,
        };
        for s in &self.0 {
            s.scan(request, &mut watch)?;
            if watch.stopped {
                break;
            }
        }
        Ok(())
    }
}
