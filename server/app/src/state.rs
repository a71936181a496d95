//! The one application state every handler receives: cheap to clone, passed explicitly.

use std::sync::Arc;

use tidings_openstack::Client;

use crate::auth::Sessions;
use crate::sources::Sources;
use crate::updates::UpdateService;
use crate::views::Views;

/// Everything a procedure may use.
#[derive(Clone)]
pub struct AppState {
    /// The update bus that fans notices out to subscribers.
    pub updates: UpdateService,
    /// The OpenStack client, for mutations and on-demand reads.
    pub openstack: Client,
    /// The polled upstream lists, with their last good values.
    pub sources: Arc<Sources>,
    /// The open sessions: who is calling, and what they may see.
    pub sessions: Arc<Sessions>,
    /// Filtered lists, serialized once per (version, visibility, filter).
    pub views: Arc<Views>,
    /// The bearer token that authorizes `admin.*`; `None` disables them.
    pub admin_token: Option<Arc<str>>,
}
