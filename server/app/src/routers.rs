//! The procedure registry of the BFF: one file per domain, each with a `mount()` that reads as
//! its table of contents, plus the helpers they share.

mod admin;
mod auth;
mod compute;
mod images;
mod networks;
mod progress;
mod projects;
mod updates;
mod volumes;

use std::sync::Arc;

use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tidings_rpc::{Ctx, Encoded, ErrorCode, Registry, RpcError};

use crate::auth::{Session, Visibility};
use crate::error;
use crate::sources::HasProject;
use crate::state::AppState;
use crate::updates::UpdateType;
use crate::worker::{SourceError, SourceHandle, TickOutcome};

/// The handler context of every procedure.
pub type AppCtx = Ctx<AppState>;

/// Every procedure Tidings serves. All but `auth.login`, `auth.logout` and `admin.*` (which
/// has its own token) require a session, whatever the transport, and each session runs a
/// bounded number of queries and mutations at once (the gate).
pub fn registry() -> Registry<AppState> {
    let mut r = Registry::<AppState>::new();
    r.set_guard(|ctx, procedure| {
        ctx.state
            .sessions
            .admit(&ctx.meta, procedure.kind())
            .map(drop)
    });
    r.set_gate(|ctx, _| {
        let session = ctx.state.sessions.require(&ctx.meta);
        async move {
            let permit = session?.call_permit().await?;
            Ok(Box::new(permit) as tidings_rpc::Admission)
        }
        .boxed()
    });
    auth::mount(&mut r);
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

/// The caller's session (the registry's guard has already refused calls without one).
fn session(ctx: &AppCtx) -> Result<Arc<Session>, RpcError> {
    ctx.state.sessions.require(&ctx.meta)
}

/// A polled list that has never been fetched successfully.
fn unavailable(error: SourceError) -> RpcError {
    tracing::warn!(error = %error, "source unavailable");
    RpcError::new(
        ErrorCode::ServiceUnavailable,
        format!(
            "{} are unavailable: the upstream cannot be reached",
            error.name
        ),
    )
}

/// The source's last good list, serialized once per version and shared by every request.
async fn all<T: Serialize + Send + Sync + 'static>(
    source: &SourceHandle<T>,
) -> Result<Encoded<Vec<T>>, RpcError> {
    let json = source.get_json().await.map_err(unavailable)?;
    Ok(Encoded::with_hash(json.bytes, json.hash))
}

/// The source's last good list as the caller may see it, narrowed to one project when asked
/// (`FORBIDDEN` for a project the caller has no role on). An administrator's unfiltered list
/// is the shared bytes serialized once per version.
async fn list<T: HasProject + Clone + Serialize + Send + Sync + 'static>(
    ctx: &AppCtx,
    source: &SourceHandle<T>,
    filter: Option<ProjectFilter>,
) -> Result<Encoded<Vec<T>>, RpcError> {
    let session = session(ctx)?;
    let project = filter.and_then(|f| f.project_id);
    if let Some(project) = &project {
        session.may_read(project)?;
    }
    if project.is_none() && matches!(session.visibility(), Visibility::All) {
        return all(source).await;
    }
    let items = source.get().await.map_err(unavailable)?;
    let visibility = session.visibility();
    // A project's own list is the same for everyone allowed to ask for it.
    let shared_by = if project.is_some() {
        0
    } else {
        visibility.key()
    };
    let (json, hash) = ctx.state.views.get_or_make(
        source.name(),
        shared_by,
        project.as_deref(),
        &items,
        |items| {
            let shown: Vec<&T> = items
                .iter()
                .filter(|item| match &project {
                    Some(project) => item.project() == Some(project.as_str()),
                    None => visibility.sees(item.scope()),
                })
                .collect();
            serde_json::to_vec(&shown).map_err(RpcError::internal)
        },
    )?;
    Ok(Encoded::with_hash(json, hash))
}

/// One item of the source's list by id, or NOT_FOUND naming what was looked for (also when
/// the caller may not see it: its existence is not confirmed).
async fn find<T: HasProject + Clone + Serialize + Send + Sync + 'static>(
    ctx: &AppCtx,
    source: &SourceHandle<T>,
    what: &str,
    id: &str,
    id_of: fn(&T) -> &str,
) -> Result<T, RpcError> {
    let session = session(ctx)?;
    let all = source.get().await.map_err(unavailable)?;
    all.iter()
        .find(|item| id_of(item) == id && session.visibility().sees(item.scope()))
        .cloned()
        .ok_or_else(|| RpcError::not_found(format!("{what} {id} not found")))
}

/// The owning project of a resource the caller wants to change: from the polled list when it
/// is there, else from the upstream (asked with the service's credentials). NOT_FOUND when
/// the caller may not see the resource; whether they may change it is the caller's next check.
async fn owner_of<T, F>(
    ctx: &AppCtx,
    source: &SourceHandle<T>,
    what: &str,
    id: &str,
    id_of: fn(&T) -> &str,
    fetch: F,
) -> Result<Owner, RpcError>
where
    T: HasProject + Clone + Serialize + Send + Sync + 'static,
    F: AsyncFnOnce(&tidings_openstack::Client, &str) -> Result<T, tidings_openstack::Error>,
{
    let item = match find(ctx, source, what, id, id_of).await {
        Ok(found) => found,
        Err(_) => fetch(&ctx.state.openstack, id)
            .await
            .map_err(error::upstream)?,
    };
    if !session(ctx)?.visibility().sees(item.scope()) {
        return Err(RpcError::not_found(format!("{what} {id} not found")));
    }
    let project = item.project().map(str::to_owned).ok_or_else(|| {
        RpcError::new(
            tidings_rpc::ErrorCode::Forbidden,
            format!("{what} {id} belongs to no project"),
        )
    })?;
    Ok(Owner {
        scope: item.scope().map(str::to_owned),
        project,
    })
}

/// Who owns a resource, and who hears of its changes.
struct Owner {
    /// The owning project: changing the resource takes a writing role there.
    project: String,
    /// The scope of its notices (`None` for public or shared resources).
    scope: Option<String>,
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
