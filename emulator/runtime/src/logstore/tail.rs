//! Console lines of one pool in `seq` order, whatever their routing: what
//! `sessions-emulator logs POOL` prints and follows. A page is either the newest `limit`
//! lines (no `after_seq`) or the oldest `limit` lines after `after_seq` (following).

use super::routes::StreamKind;
use super::shared::Shared;

/// Which lines.
#[derive(Clone, Debug, Default)]
pub struct TailFilter {
    /// Lower-cased pool id.
    pub pool_key: String,
    /// Only lines of the session bound to this identifier.
    pub identifier: Option<String>,
    /// Only lines at or after this time (ticks).
    pub since: Option<i64>,
    /// Only lines after this `seq` (following).
    pub after_seq: Option<i64>,
    /// Most lines returned.
    pub limit: usize,
}

/// One console line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailLine {
    /// Its `seq` (pass it back as `after_seq` to follow).
    pub seq: i64,
    /// When (ticks).
    pub time: i64,
    /// Identifier bound at the time (may be empty).
    pub identifier: String,
    /// Session id.
    pub session: String,
    /// Container name.
    pub container: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The line.
    pub log: String,
}

/// A page of lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TailPage {
    /// Lines, oldest first.
    pub lines: Vec<TailLine>,
    /// Follow from here: the last line's `seq`, else the `after_seq` asked, else the `seq`
    /// before the next row.
    pub cursor: i64,
}

/// Reads a page (see the module docs).
pub(crate) fn read(shared: &Shared, f: &TailFilter) -> TailPage {
    let origins = shared.origins.snapshot();
    let mine: Vec<bool> = origins.iter().map(|o| o.pool_key == f.pool_key).collect();
    let data = shared.stream(StreamKind::Console).read();
    let limit = f.limit.max(1);
    let mut lines: std::collections::VecDeque<TailLine> = std::collections::VecDeque::new();
    let after = f.after_seq.unwrap_or(i64::MIN);
    let since = f.since.unwrap_or(i64::MIN);
    'segments: for seg in data.segments() {
        if seg.is_empty() || seg.end_seq() <= after || seg.max_time < since {
            continue;
        }
        for i in 0..seg.len() {
            let seq = seg.base_seq + i as i64;
            if seq <= after
                || seg.times[i] < since
                || !mine.get(seg.origins[i] as usize).copied().unwrap_or(false)
            {
                continue;
            }
            let identifier = seg.text(seg.identifiers[i]);
            if f.identifier.as_deref().is_some_and(|x| x != identifier) {
                continue;
            }
            lines.push_back(TailLine {
                seq,
                time: seg.times[i],
                identifier: identifier.to_string(),
                session: seg.text(seg.pods[i]).to_string(),
                container: origins
                    .get(seg.origins[i] as usize)
                    .map(|o| o.origin.container_name.clone())
                    .unwrap_or_default(),
                stream: seg.text(seg.tags[i]).to_string(),
                log: seg.log(i).to_string(),
            });
            if lines.len() > limit {
                if f.after_seq.is_some() {
                    lines.pop_back();
                    break 'segments;
                }
                lines.pop_front();
            }
        }
    }
    let cursor = lines
        .back()
        .map(|l| l.seq)
        .or(f.after_seq)
        .unwrap_or(data.next_seq() - 1);
    TailPage {
        lines: lines.into(),
        cursor,
    }
}
