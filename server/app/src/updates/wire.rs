//! The notice on the wire: the only bytes clients receive from `updates.subscribe`.
//!
//! ```json
//! {"type":"volumes","scope":"<project id>"}   // volumes of one project changed
//! {"type":"images"}                           // a global change (no scope)
//! {"type":"resync","reason":"lagged"}         // notices were missed: refetch everything
//! ```
//!
//! Every notice is tracked: its tRPC/SSE id is the decimal event id, which a reconnecting client
//! sends back as `lastEventId`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tidings_rpc::Notice;

use super::kinds::{NoticeType, UpdateType};

/// One notice as clients receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct UpdateNotice {
    /// What changed, or `resync`.
    #[serde(rename = "type")]
    pub ty: NoticeType,
    /// The project the change is confined to; absent for global changes and for resync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub scope: Option<String>,
    /// Why a resync was sent; present only when `type` is `resync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub reason: Option<ResyncReason>,
}

/// Why the client must refetch everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ResyncReason {
    /// The subscriber fell behind and its queue overflowed; notices were dropped.
    Lagged,
    /// The requested `lastEventId` can no longer be replayed: older than the retained log, not
    /// an event id, or ahead of this server (it restarted).
    Gap,
}

impl ResyncReason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResyncReason::Lagged => "lagged",
            ResyncReason::Gap => "gap",
        }
    }
}

/// Encodes the notice for a change, tracked with `id`.
pub(super) fn change(id: u64, ty: UpdateType, scope: Option<&str>) -> Arc<Notice> {
    let body = UpdateNotice {
        ty: ty.into(),
        scope: scope.map(str::to_owned),
        reason: None,
    };
    encode(id, &body)
}

/// Encodes a resync notice, tracked with `id` (the latest event id when it was decided), so a
/// reconnect resumes from the state the client refetches.
pub(super) fn resync(id: u64, reason: ResyncReason) -> Arc<Notice> {
    let body = UpdateNotice {
        ty: NoticeType::Resync,
        scope: None,
        reason: Some(reason),
    };
    encode(id, &body)
}

fn encode(id: u64, body: &UpdateNotice) -> Arc<Notice> {
    let notice = Notice::new(Some(Arc::from(id.to_string())), body)
        .expect("an UpdateNotice (enums and strings) always encodes as JSON");
    Arc::new(notice)
}
