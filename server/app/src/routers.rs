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
use tidings_openstack::{Client, IdKind};
use tidings_rpc::{Ctx, Encoded, ErrorCode, ProcedureKind, Registry, RpcError};

use crate::auth::{Session, Visibility};
use crate::sources::HasProject;
use crate::state::AppState;
use crate::updates::UpdateType;
use crate::worker::{Cause, SourceError, SourceHandle, TickOutcome};

/// The handler context of every procedure.
pub type AppCtx = Ctx<AppState>;

/// Every procedure Tidings serves. All but `auth.login`, `auth.logout` and `admin.*` (which
/// has its own token) require a session, whatever the transport, and each session runs a
/// bounded number of queries and mutations at once (the gate).
pub fn registry() -> Registry<AppState> {
    let mut r = Registry::<AppState>::new();
    // Async: with a shared store the session may first have to be loaded.
    r.set_async_guard(|ctx, procedure| {
        let (ctx, kind) = (ctx.clone(), procedure.kind());
        async move { ctx.state.sessions.admit(&ctx.meta, kind).await.map(drop) }.boxed()
    });
    // A WebSocket that presents no session within --ws-auth-timeout is closed (it would carry
    // the session's subscriptions; loading it may wait on the shared store too).
    r.set_authenticate(|ctx| {
        let ctx = ctx.clone();
        async move {
            let sessions = &ctx.state.sessions;
            sessions
                .admit(&ctx.meta, ProcedureKind::Subscription)
                .await
                .map(drop)
        }
        .boxed()
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

/// A polled list that has never been fetched successfully: `SERVICE_UNAVAILABLE`, saying why
/// its poll failed.
fn unavailable(error: SourceError) -> RpcError {
    tracing::warn!(error = %error, "source unavailable");
    let why = match error.cause {
        Cause::Unreachable => "the upstream cannot be reached",
        Cause::Unauthorized => {
            "the upstream refuses this server's credentials (401 Unauthorized): its \
             configuration must be fixed"
        }
        Cause::Failing => "the upstream answers with errors",
    };
    RpcError::new(
        ErrorCode::ServiceUnavailable,
        format!("{} are unavailable: {why}", error.name),
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

/// Checks that the input field `field` holds an id of `kind`'s shape: BAD_REQUEST saying
/// which shape otherwise, before anything looks the id up. Ids go nowhere unchecked.
fn check_id(kind: IdKind, field: &str, id: &str) -> Result<(), RpcError> {
    kind.check(id).map_err(|invalid| {
        RpcError::bad_request(format!("Invalid input at \"{field}\": {invalid}"))
    })
}

/// [`check_id`] for an optional field.
fn check_optional_id(kind: IdKind, field: &str, id: Option<&str>) -> Result<(), RpcError> {
    id.map_or(Ok(()), |id| check_id(kind, field, id))
}

/// The NOT_FOUND of a resource the caller looked for: one message whether it does not exist
/// or belongs to someone else, so an answer never tells the two apart.
fn not_found(kind: IdKind, id: &str) -> RpcError {
    let noun = kind.noun();
    let mut what = noun[..1].to_ascii_uppercase();
    what.push_str(&noun[1..]);
    RpcError::not_found(format!("{what} {id} not found"))
}

/// One item of the source's list by id (from input field `field`), or NOT_FOUND (also when
/// the caller may not see it: its existence is not confirmed). Only the worker's polled list
/// is consulted, never the upstream, so both cases take the same path.
async fn find<T: HasProject + Clone + Serialize + Send + Sync + 'static>(
    ctx: &AppCtx,
    source: &SourceHandle<T>,
    kind: IdKind,
    field: &str,
    id: &str,
    id_of: fn(&T) -> &str,
) -> Result<T, RpcError> {
    check_id(kind, field, id)?;
    let session = session(ctx)?;
    let all = source.get().await.map_err(unavailable)?;
    all.iter()
        .find(|item| id_of(item) == id && session.visibility().sees(item.scope()))
        .cloned()
        .ok_or_else(|| not_found(kind, id))
}

/// The owning project of a resource the caller wants to change, from the polled list (a
/// resource created a moment ago is there once its creator's mutation has refreshed it, or
/// after the next poll). NOT_FOUND when the caller may not see the resource; whether they may
/// change it is the caller's next check. Nothing is asked of the upstream with the service's
/// credentials on an id the caller chose.
async fn owner_of<T>(
    ctx: &AppCtx,
    source: &SourceHandle<T>,
    kind: IdKind,
    field: &str,
    id: &str,
    id_of: fn(&T) -> &str,
) -> Result<Owner, RpcError>
where
    T: HasProject + Clone + Serialize + Send + Sync + 'static,
{
    let item = find(ctx, source, kind, field, id, id_of).await?;
    let project = item.project().map(str::to_owned).ok_or_else(|| {
        RpcError::new(
            ErrorCode::Forbidden,
            format!("{} {id} belongs to no project", kind.noun()),
        )
    })?;
    Ok(Owner {
        scope: item.scope().map(str::to_owned),
        project,
    })
}

/// The caller's own OpenStack client in `project`, which they must be allowed to read
/// (FORBIDDEN otherwise): live reads on a user's behalf run with their credentials, so the
/// upstream's own policy applies to them, never with the service's.
fn reading_in(session: &Session, project: &str) -> Result<Client, RpcError> {
    session.may_read(project)?;
    session
        .home_client()
        .map(|client| client.in_project(project))
        .ok_or_else(|| {
            RpcError::new(
                ErrorCode::Forbidden,
                format!("you have no role on project {project}"),
            )
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
