//! The procedure registry of the BFF: one file per domain, each with a `mount()` that reads as
//! its table of contents, plus the helpers they share.

mod admin;
mod compute;
mod images;
mod networks;
mod progress;
mod projects;
mod updates;
mod volumes;

use serde::{Deserialize, Serialize};
use tidings_rpc::{Ctx, Encoded, Registry, RpcError};

use crate::error;
use crate::sources::HasProject;
use crate::state::AppState;
use crate::updates::UpdateType;
use crate::worker::{SourceHandle, TickOutcome};

/// The handler context of every procedure.
pub type AppCtx = Ctx<AppState>;

/// Every procedure Tidings serves.
pub fn registry() -> Registry<AppState> {
    let mut r = Registry::new();
    projects::mount(&mut r);
    compute::mount(&mut r);
    volumes::mount(&mut r);
    images::mount(&mut r);
    networks::mount(&mut r);
    progress::mount(&mut r);
    admin::mount(&mut r);
    updates::mount(&mut r);
    r
}

/// Input of lists that can be narrowed to one project.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProjectFilter {
    /// Only items of this project.
    #[serde(default)]
    #[specta(optional)]
    pub project_id: Option<String>,
}

/// Input naming one resource.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct ById {
    /// The resource's id.
    pub id: String,
}

/// The source's last good list, serialized once per version and shared by every request.
async fn all<T: Serialize + Send + Sync + 'static>(
    source: &SourceHandle<T>,
) -> Result<Encoded<Vec<T>>, RpcError> {
    let json = source.get_json().await.map_err(error::source)?;
    Ok(Encoded::with_hash(json.bytes, json.hash))
}

/// The source's last good list, narrowed to a project when asked.
async fn list<T: HasProject + Clone + Serialize + Send + Sync + 'static>(
    source: &SourceHandle<T>,
    filter: Option<ProjectFilter>,
) -> Result<Encoded<Vec<T>>, RpcError> {
    match filter.and_then(|f| f.project_id) {
        None => all(source).await,
        Some(project) => {
            let items = source.get().await.map_err(error::source)?;
            let mine: Vec<&T> = items
                .iter()
                .filter(|i| i.project() == Some(&project))
                .collect();
            let json = serde_json::to_vec(&mine).map_err(RpcError::internal)?;
            Ok(Encoded::from_bytes(json.into()))
        }
    }
}

/// One item of the source's list by id, or NOT_FOUND naming what was looked for.
async fn find<T: Clone + Serialize + Send + Sync + 'static>(
    source: &SourceHandle<T>,
    what: &str,
    id: &str,
    id_of: fn(&T) -> &str,
) -> Result<T, RpcError> {
    let all = source.get().await.map_err(error::source)?;
    all.iter()
        .find(|item| id_of(item) == id)
        .cloned()
        .ok_or_else(|| RpcError::not_found(format!("{what} {id} not found")))
}

/// After a successful mutation: refresh the list it changed, so the next query sees the change,
/// and make sure subscribers hear about it exactly once (the refresh announces real changes
/// itself; otherwise the notice is sent here).
async fn announce<T: Serialize + Send + Sync + 'static>(
    ctx: &AppCtx,
    source: &SourceHandle<T>,
    ty: UpdateType,
    scope: Option<&str>,
) {
    if !matches!(source.refresh().await, TickOutcome::Changed { .. }) {
        ctx.state.updates.notify(ty, scope);
    }
}
