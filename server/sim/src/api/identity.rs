//! Keystone v3 under `/identity/v3`: password authentication, token validation, the service
//! catalog, projects, users, roles and role assignments.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use xxhash_rust::xxh3::xxh3_64;

use super::{ApiError, Base, Caller, Params};
use crate::model::World;
use crate::model::identity::{Project, Role, Session, User};
use crate::seed::{DOMAIN_ID, DOMAIN_NAME, REGION};
use crate::sim::Sim;
use crate::time::Stamp;

/// The Keystone routes.
pub(crate) fn mount() -> Router<Sim> {
    Router::new()
        .route(
            "/identity/v3/auth/tokens",
            get(validate_token).post(issue_token).delete(revoke_token),
        )
        .route("/identity/v3/auth/catalog", get(auth_catalog))
        .route("/identity/v3/auth/projects", get(auth_projects))
        .route("/identity/v3/projects", get(list_projects))
        .route("/identity/v3/projects/{project_id}", get(show_project))
        .route(
            "/identity/v3/projects/{project_id}/users/{user_id}/roles",
            get(project_user_roles),
        )
        .route("/identity/v3/users/{user_id}/projects", get(user_projects))
        .route("/identity/v3/users", get(list_users))
        .route("/identity/v3/users/{user_id}", get(show_user))
        .route("/identity/v3/roles", get(list_roles))
        .route("/identity/v3/roles/{role_id}", get(show_role))
        .route("/identity/v3/role_assignments", get(role_assignments))
}

#[derive(Deserialize)]
struct AuthRequest {
    auth: Auth,
}

#[derive(Deserialize)]
struct Auth {
    identity: AuthIdentity,
    #[serde(default)]
    scope: Option<AuthScope>,
}

#[derive(Deserialize)]
struct AuthIdentity {
    methods: Vec<String>,
    password: Option<PasswordMethod>,
}

#[derive(Deserialize)]
struct PasswordMethod {
    user: UserRef,
}

#[derive(Deserialize)]
struct UserRef {
    id: Option<String>,
    name: Option<String>,
    domain: Option<DomainRef>,
    password: String,
}

#[derive(Deserialize)]
struct DomainRef {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct AuthScope {
    project: Option<ProjectRef>,
}

#[derive(Deserialize)]
struct ProjectRef {
    id: Option<String>,
    name: Option<String>,
    domain: Option<DomainRef>,
}

impl DomainRef {
    fn is_default(&self) -> bool {
        self.id.as_deref().is_none_or(|id| id == DOMAIN_ID)
            && self.name.as_deref().is_none_or(|n| n == DOMAIN_NAME)
    }
}

/// `POST /v3/auth/tokens`: password authentication, unscoped or scoped to a project.
async fn issue_token(
    State(sim): State<Sim>,
    Base(base): Base,
    Query(params): Query<Params>,
    Json(request): Json<AuthRequest>,
) -> Result<Response, ApiError> {
    let auth = request.auth;
    let password = auth
        .identity
        .password
        .filter(|_| auth.identity.methods.iter().any(|m| m == "password"))
        .ok_or_else(|| {
            ApiError::keystone(
                StatusCode::UNAUTHORIZED,
                "Only the password method is supported.",
            )
        })?;
    let mut world = sim.world();
    let checked = authenticate(&world, &password.user);
    let given = password.user.name.as_ref().or(password.user.id.as_ref());
    sim.record_password(given.map_or("", String::as_str), checked.is_ok());
    let user_id = checked?;
    let project_id = match auth.scope.and_then(|s| s.project) {
        Some(project) => Some(resolve_project(&world, &user_id, &project)?),
        None => None,
    };
    let issued = Stamp::now();
    let session = Session {
        user_id,
        project_id,
        issued,
        expires: issued.plus(sim.config().token_ttl),
        audit_id: audit_id(&mut world),
    };
    let token = format!("gAAAAA{}", world.hex(64));
    let body = token_body(&world, &session, &base, !params.contains_key("nocatalog"));
    world.identity.tokens.insert(token.clone(), session);
    Ok((
        StatusCode::CREATED,
        [("x-subject-token", token)],
        Json(body),
    )
        .into_response())
}

fn authenticate(world: &World, user: &UserRef) -> Result<String, ApiError> {
    let fail = || {
        ApiError::keystone(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    };
    let found = match (&user.id, &user.name) {
        (Some(id), _) => world.identity.user(id),
        (None, Some(name)) if user.domain.as_ref().is_some_and(DomainRef::is_default) => {
            world.identity.user_named(name)
        }
        _ => None,
    };
    found
        .filter(|u| u.password == user.password)
        .map(|u| u.id.clone())
        .ok_or_else(fail)
}

fn resolve_project(world: &World, user_id: &str, project: &ProjectRef) -> Result<String, ApiError> {
    let found = match (&project.id, &project.name) {
        (Some(id), _) => world.identity.project(id),
        (None, Some(name)) if project.domain.as_ref().is_some_and(DomainRef::is_default) => {
            world.identity.project_named(name)
        }
        _ => None,
    };
    found
        .filter(|p| !world.identity.roles_on(user_id, &p.id).is_empty())
        .map(|p| p.id.clone())
        .ok_or_else(|| {
            ApiError::keystone(
                StatusCode::UNAUTHORIZED,
                "User has no access to the requested project.",
            )
        })
}

fn audit_id(world: &mut World) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..22)
        .map(|_| char::from(ALPHABET[world.rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The `token` document of a session, in the shape of the samples.
fn token_body(world: &World, session: &Session, base: &str, with_catalog: bool) -> Value {
    let user = world.identity.user(&session.user_id);
    let user = json!({
        "domain": { "id": DOMAIN_ID, "name": DOMAIN_NAME },
        "id": session.user_id,
        "name": user.map(|u| u.name.as_str()).unwrap_or_default(),
        "password_expires_at": null,
    });
    let project = session
        .project_id
        .as_deref()
        .and_then(|id| world.identity.project(id));
    let mut token = match project {
        Some(project) => {
            let mut token = world.templates.token_scoped.clone();
            let roles: Vec<Value> = world
                .identity
                .roles_on(&session.user_id, &project.id)
                .iter()
                .map(|r| json!({ "id": r.id, "name": r.name }))
                .collect();
            token.insert("roles".into(), Value::Array(roles));
            token.insert(
                "project".into(),
                json!({ "domain": { "id": DOMAIN_ID, "name": DOMAIN_NAME }, "id": project.id, "name": project.name }),
            );
            token.insert("is_domain".into(), json!(false));
            if with_catalog {
                token.insert("catalog".into(), catalog(world, base, &project.id));
            } else {
                token.remove("catalog");
            }
            token
        }
        None => world.templates.token_unscoped.clone(),
    };
    token.insert("methods".into(), json!(["password"]));
    token.insert("user".into(), user);
    token.insert("audit_ids".into(), json!([session.audit_id]));
    token.insert("issued_at".into(), json!(session.issued.micros_z()));
    token.insert("expires_at".into(), json!(session.expires.micros_z()));
    json!({ "token": token })
}

/// The service catalog for a project: one public endpoint per service.
fn catalog(world: &World, base: &str, project_id: &str) -> Value {
    let services = [
        ("identity", "keystone", format!("{base}/identity/v3")),
        ("compute", "nova", format!("{base}/compute/v2.1")),
        (
            "volumev3",
            "cinderv3",
            format!("{base}/volume/v3/{project_id}"),
        ),
        ("image", "glance", format!("{base}/image")),
        ("network", "neutron", format!("{base}/network")),
    ];
    let entries = services.into_iter().map(|(kind, name, url)| {
        let mut endpoint = world.templates.catalog_endpoint.clone();
        endpoint.insert(
            "id".into(),
            json!(format!(
                "{:016x}{:016x}",
                xxh3_64(url.as_bytes()),
                xxh3_64(name.as_bytes())
            )),
        );
        endpoint.insert("interface".into(), json!("public"));
        endpoint.insert("region".into(), json!(REGION));
        endpoint.insert("region_id".into(), json!(REGION));
        endpoint.insert("url".into(), json!(url));
        let mut service = world.templates.catalog_service.clone();
        service.insert("endpoints".into(), json!([endpoint]));
        service.insert("type".into(), json!(kind));
        service.insert(
            "id".into(),
            json!(format!("{:032x}", u128::from(xxh3_64(kind.as_bytes())))),
        );
        service.insert("name".into(), json!(name));
        Value::Object(service)
    });
    Value::Array(entries.collect())
}

/// `GET /v3/auth/tokens`: validates the `X-Subject-Token` for the holder of `X-Auth-Token`.
async fn validate_token(
    State(sim): State<Sim>,
    Base(base): Base,
    _caller: Caller,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let subject = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let world = sim.world();
    let session = world
        .identity
        .session(subject, Stamp::now())
        .ok_or_else(|| {
            ApiError::keystone(
                StatusCode::NOT_FOUND,
                format!("Could not find token: {subject}."),
            )
        })?;
    Ok(Json(token_body(
        &world,
        session,
        &base,
        !params.contains_key("nocatalog"),
    )))
}

/// `DELETE /v3/auth/tokens`: revokes the `X-Subject-Token`.
async fn revoke_token(
    State(sim): State<Sim>,
    _caller: Caller,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let subject = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match sim.world().identity.tokens.remove(subject) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError::keystone(
            StatusCode::NOT_FOUND,
            format!("Could not find token: {subject}."),
        )),
    }
}

/// `GET /v3/auth/catalog`: the catalog of the token's project.
async fn auth_catalog(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let project_id = caller.project_id.ok_or_else(|| {
        ApiError::keystone(
            StatusCode::FORBIDDEN,
            "A project-scoped token is required to produce a service catalog.",
        )
    })?;
    let world = sim.world();
    Ok(Json(
        json!({ "catalog": catalog(&world, &base, &project_id), "links": links(&base, "auth/catalog") }),
    ))
}

fn links(base: &str, path: &str) -> Value {
    json!({ "self": format!("{base}/identity/v3/{path}"), "previous": null, "next": null })
}

fn project_json(world: &World, base: &str, project: &Project, scope_form: bool) -> Value {
    let mut body = if scope_form {
        world.templates.scope_project.clone()
    } else {
        world.templates.project.clone()
    };
    body.insert("id".into(), json!(project.id));
    body.insert("name".into(), json!(project.name));
    body.insert("domain_id".into(), json!(DOMAIN_ID));
    body.insert("enabled".into(), json!(true));
    body.insert(
        "links".into(),
        json!({ "self": format!("{base}/identity/v3/projects/{}", project.id) }),
    );
    if !scope_form {
        body.insert("description".into(), json!(project.description));
        body.insert("parent_id".into(), json!(DOMAIN_ID));
    }
    Value::Object(body)
}

/// `GET /v3/auth/projects`: the projects the token's user may scope to.
async fn auth_projects(State(sim): State<Sim>, Base(base): Base, caller: Caller) -> Json<Value> {
    let world = sim.world();
    let projects: Vec<Value> = world
        .identity
        .projects_of(&caller.user_id)
        .into_iter()
        .map(|p| project_json(&world, &base, p, true))
        .collect();
    Json(json!({ "projects": projects, "links": links(&base, "auth/projects") }))
}

/// `GET /v3/projects`: every project (admin only), optionally filtered by `name`.
async fn list_projects(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin {
        return Err(forbidden("identity:list_projects"));
    }
    let world = sim.world();
    let projects: Vec<Value> = world
        .identity
        .projects
        .iter()
        .filter(|p| params.get("name").is_none_or(|n| *n == p.name))
        .map(|p| project_json(&world, &base, p, false))
        .collect();
    Ok(Json(
        json!({ "projects": projects, "links": links(&base, "projects") }),
    ))
}

fn forbidden(action: &str) -> ApiError {
    ApiError::keystone(
        StatusCode::FORBIDDEN,
        format!("You are not authorized to perform the requested action: {action}."),
    )
}

/// `GET /v3/projects/{id}`: one project (admin, or a member of it).
async fn show_project(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Path(project_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let project = world.identity.project(&project_id).ok_or_else(|| {
        ApiError::keystone(
            StatusCode::NOT_FOUND,
            format!("Could not find project: {project_id}."),
        )
    })?;
    if !caller.admin
        && world
            .identity
            .roles_on(&caller.user_id, &project_id)
            .is_empty()
    {
        return Err(forbidden("identity:get_project"));
    }
    Ok(Json(
        json!({ "project": project_json(&world, &base, project, false) }),
    ))
}

/// `GET /v3/users/{user_id}/projects`: a user's projects (that user, or an admin).
async fn user_projects(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin && caller.user_id != user_id {
        return Err(forbidden("identity:list_user_projects"));
    }
    let world = sim.world();
    if world.identity.user(&user_id).is_none() {
        return Err(ApiError::keystone(
            StatusCode::NOT_FOUND,
            format!("Could not find user: {user_id}."),
        ));
    }
    let projects: Vec<Value> = world
        .identity
        .projects_of(&user_id)
        .into_iter()
        .map(|p| project_json(&world, &base, p, false))
        .collect();
    Ok(Json(
        json!({ "projects": projects, "links": links(&base, &format!("users/{user_id}/projects")) }),
    ))
}

/// `GET /v3/projects/{project_id}/users/{user_id}/roles`: a user's roles on a project.
async fn project_user_roles(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin && caller.user_id != user_id {
        return Err(forbidden("identity:list_grants"));
    }
    let world = sim.world();
    let roles: Vec<Value> = world
        .identity
        .roles_on(&user_id, &project_id)
        .iter()
        .map(|r| json!({ "id": r.id, "links": { "self": format!("{base}/identity/v3/roles/{}", r.id) }, "name": r.name }))
        .collect();
    let path = format!("projects/{project_id}/users/{user_id}/roles");
    Ok(Json(
        json!({ "roles": roles, "links": links(&base, &path) }),
    ))
}

/// `GET /v3/role_assignments`: grants, filtered by `user.id` and `scope.project.id`; non-admins
/// see only their own.
async fn role_assignments(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Query(params): Query<Params>,
) -> Json<Value> {
    let world = sim.world();
    let assignments: Vec<Value> = world
        .identity
        .assignments
        .iter()
        .filter(|a| caller.admin || a.user_id == caller.user_id)
        .filter(|a| params.get("user.id").is_none_or(|u| *u == a.user_id))
        .filter(|a| {
            params
                .get("scope.project.id")
                .is_none_or(|p| *p == a.project_id)
        })
        .map(|a| {
            let link = format!(
                "{base}/identity/v3/projects/{}/users/{}/roles/{}",
                a.project_id, a.user_id, a.role_id
            );
            json!({
                "links": { "assignment": link },
                "role": { "id": a.role_id },
                "scope": { "project": { "id": a.project_id } },
                "user": { "id": a.user_id },
            })
        })
        .collect();
    Json(json!({ "role_assignments": assignments, "links": links(&base, "role_assignments") }))
}

fn user_json(world: &World, base: &str, user: &User, listed: bool) -> Value {
    let mut body = world.templates.user.clone();
    body.insert("id".into(), json!(user.id));
    body.insert("name".into(), json!(user.name));
    body.insert("domain_id".into(), json!(DOMAIN_ID));
    body.insert("enabled".into(), json!(true));
    body.insert("password_expires_at".into(), Value::Null);
    body.insert(
        "links".into(),
        json!({ "self": format!("{base}/identity/v3/users/{}", user.id) }),
    );
    // The seeded users have no default project, and Keystone leaves out what is unset.
    body.remove("default_project_id");
    if listed {
        body.remove("federated");
    }
    Value::Object(body)
}

/// `GET /v3/users`: every user (admin only), optionally filtered by `name`.
async fn list_users(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin {
        return Err(forbidden("identity:list_users"));
    }
    let world = sim.world();
    let users: Vec<Value> = world
        .identity
        .users
        .iter()
        .filter(|u| params.get("name").is_none_or(|n| *n == u.name))
        .map(|u| user_json(&world, &base, u, true))
        .collect();
    Ok(Json(
        json!({ "users": users, "links": links(&base, "users") }),
    ))
}

/// `GET /v3/users/{id}`: a user (that user, or an admin).
async fn show_user(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin && caller.user_id != user_id {
        return Err(forbidden("identity:get_user"));
    }
    let world = sim.world();
    let user = world.identity.user(&user_id).ok_or_else(|| {
        ApiError::keystone(
            StatusCode::NOT_FOUND,
            format!("Could not find user: {user_id}."),
        )
    })?;
    Ok(Json(
        json!({ "user": user_json(&world, &base, user, false) }),
    ))
}

fn role_json(world: &World, base: &str, role: &Role) -> Value {
    let mut body = world.templates.role.clone();
    body.insert("id".into(), json!(role.id));
    body.insert("name".into(), json!(role.name));
    body.remove("description");
    body.insert(
        "links".into(),
        json!({ "self": format!("{base}/identity/v3/roles/{}", role.id) }),
    );
    Value::Object(body)
}

/// `GET /v3/roles`: every role (admin only), optionally filtered by `name`.
async fn list_roles(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin {
        return Err(forbidden("identity:list_roles"));
    }
    let world = sim.world();
    let roles: Vec<Value> = world
        .identity
        .roles
        .iter()
        .filter(|r| params.get("name").is_none_or(|n| *n == r.name))
        .map(|r| role_json(&world, &base, r))
        .collect();
    Ok(Json(
        json!({ "roles": roles, "links": links(&base, "roles") }),
    ))
}

/// `GET /v3/roles/{id}` (admin only).
async fn show_role(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Caller,
    Path(role_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !caller.admin {
        return Err(forbidden("identity:get_role"));
    }
    let world = sim.world();
    let role = world
        .identity
        .roles
        .iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| {
            ApiError::keystone(
                StatusCode::NOT_FOUND,
                format!("Could not find role: {role_id}."),
            )
        })?;
    Ok(Json(json!({ "role": role_json(&world, &base, role) })))
}
