//! Nova v2.1 under `/compute/v2.1` (the `/{project_id}` form is mapped onto it before routing):
//! servers and their actions, flavors, keypairs, limits, availability zones, server groups and
//! volume attachments. Bodies are the 2.1 shapes.

mod attachments;
mod operator;
mod views;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::{
    ApiError, Base, Microversion, Microversions, Params, Scoped, flag, limit, negotiate, page,
};
use crate::model::compute::{self, Action, ActionError, ServerSpec};
use crate::model::volume;
use crate::model::{Record, World, find};
use crate::sim::Sim;
use views::ServerView;

/// Nova's microversion range (from its version document).
pub(crate) const NOVA: Microversions = Microversions {
    service: "compute",
    legacy_header: Some("x-openstack-nova-api-version"),
    major: 2,
    min: 1,
    max: 104,
};

/// The Nova routes.
pub(crate) fn mount() -> Router<Sim> {
    Router::new()
        .route(
            "/compute/v2.1/servers",
            get(list_servers).post(create_server),
        )
        .route("/compute/v2.1/servers/detail", get(list_servers_detail))
        .route(
            "/compute/v2.1/servers/{server_id}",
            get(show_server).delete(delete_server),
        )
        .route(
            "/compute/v2.1/servers/{server_id}/action",
            post(server_action),
        )
        .merge(attachments::mount())
        .merge(operator::mount())
        .route("/compute/v2.1/flavors/detail", get(list_flavors))
        .route("/compute/v2.1/os-keypairs", get(list_keypairs))
        .route("/compute/v2.1/os-server-groups", get(list_server_groups))
        .layer(from_fn(|request, next| negotiate(NOVA, request, next)))
}

fn not_found(kind: &str, id: &str) -> ApiError {
    ApiError::nova(
        StatusCode::NOT_FOUND,
        format!("{kind} {id} could not be found."),
    )
}

fn bookmark(base: &str, project_id: &str, kind: &str, id: &str) -> Value {
    json!([{ "href": format!("{base}/compute/{project_id}/{kind}/{id}"), "rel": "bookmark" }])
}

fn self_links(base: &str, project_id: &str, kind: &str, id: &str) -> Value {
    json!([
        { "href": format!("{base}/compute/v2.1/{project_id}/{kind}/{id}"), "rel": "self" },
        { "href": format!("{base}/compute/{project_id}/{kind}/{id}"), "rel": "bookmark" },
    ])
}

/// A server as served at `version`: its body plus links and the volumes attached now.
fn server_json(world: &World, base: &str, server: &Record, view: ServerView) -> Value {
    let mut body = server.body.clone();
    let project = server.project_id.as_str();
    for kind in ["flavor", "image"] {
        let id = body[kind]["id"].as_str().unwrap_or_default().to_owned();
        let collection = if kind == "flavor" {
            "flavors"
        } else {
            "images"
        };
        body.insert(
            kind.into(),
            json!({ "id": id, "links": bookmark(base, project, collection, &id) }),
        );
    }
    let attached: Vec<Value> = world
        .volumes
        .iter()
        .filter(|v| volume::attached_to(v, &server.id))
        .map(|v| json!({ "id": v.id }))
        .collect();
    body.insert(
        "os-extended-volumes:volumes_attached".into(),
        Value::Array(attached),
    );
    body.insert(
        "links".into(),
        self_links(base, project, "servers", &server.id),
    );
    Value::Object(views::server(world, server, body, view))
}

fn server_summary(base: &str, server: &Record) -> Value {
    json!({ "id": server.id, "links": self_links(base, &server.project_id, "servers", &server.id), "name": server.str("name") })
}

/// The servers a list request selects, newest first, as one page plus whether more follow.
fn select_servers<'a>(
    world: &'a World,
    caller: &Scoped,
    params: &Params,
    max_page: usize,
) -> Result<(Vec<&'a Record>, bool), ApiError> {
    let all = flag(params, "all_tenants");
    let wanted_project = params.get("project_id").or_else(|| params.get("tenant_id"));
    let items: Vec<&Record> = world
        .servers
        .iter()
        .rev()
        .filter(|s| caller.sees(s, all))
        .filter(|s| wanted_project.is_none_or(|p| *p == s.project_id))
        .filter(|s| {
            params
                .get("name")
                .is_none_or(|n| s.str("name").contains(n.as_str()))
        })
        .filter(|s| {
            params
                .get("status")
                .is_none_or(|st| st.eq_ignore_ascii_case(s.str("status")))
        })
        .collect();
    let size = limit(params, max_page, max_page)
        .map_err(|m| ApiError::nova(StatusCode::BAD_REQUEST, m))?;
    page(items, params.get("marker").map(String::as_str), size)
        .map_err(|m| ApiError::nova(StatusCode::BAD_REQUEST, m))
}

fn next_link(base: &str, path: &str, params: &Params, last: Option<&Record>) -> Value {
    let mut query: Vec<String> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "marker")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    query.sort();
    if let Some(last) = last {
        query.push(format!("marker={}", last.id));
    }
    json!([{ "href": format!("{base}/compute/v2.1/{path}?{}", query.join("&")), "rel": "next" }])
}

/// `GET /servers`: ids, names and links.
async fn list_servers(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let (items, more) = select_servers(&world, &caller, &params, sim.config().max_page)?;
    let mut body =
        json!({ "servers": items.iter().map(|s| server_summary(&base, s)).collect::<Vec<_>>() });
    if more {
        body["servers_links"] = next_link(&base, "servers", &params, items.last().copied());
    }
    Ok(Json(body))
}

/// `GET /servers/detail`: full servers; admins see every project with `all_tenants=1`.
async fn list_servers_detail(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    version: Microversion,
    Query(params): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let (items, more) = select_servers(&world, &caller, &params, sim.config().max_page)?;
    let servers: Vec<Value> = items
        .iter()
        .map(|s| {
            let view = ServerView {
                version,
                detail: true,
                admin: caller.admin,
            };
            server_json(&world, &base, s, view)
        })
        .collect();
    let mut body = json!({ "servers": servers });
    if more {
        body["servers_links"] = next_link(&base, "servers/detail", &params, items.last().copied());
    }
    Ok(Json(body))
}

/// The server if the caller may see it.
fn owned<'a>(world: &'a World, caller: &Scoped, id: &str) -> Result<&'a Record, ApiError> {
    find(&world.servers, id)
        .filter(|s| caller.owns(s))
        .ok_or_else(|| not_found("Instance", id))
}

/// `GET /servers/{id}`.
async fn show_server(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    version: Microversion,
    Path(server_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let world = sim.world();
    let server = owned(&world, &caller, &server_id)?;
    Ok(Json(
        json!({ "server": server_json(&world, &base, server, ServerView { version, detail: false, admin: caller.admin }) }),
    ))
}

/// `POST /servers`: a new server in the token's project, in BUILD.
async fn create_server(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    Json(request): Json<Value>,
) -> Result<Response, ApiError> {
    let bad = |m: &str| ApiError::nova(StatusCode::BAD_REQUEST, m);
    let server = request
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("Missing server in request body."))?;
    let name = server
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    let name = name.ok_or_else(|| bad("Invalid input for field/attribute name."))?;
    let flavor_id =
        reference(server.get("flavorRef")).ok_or_else(|| bad("Missing flavorRef attribute."))?;
    let image_id = reference(server.get("imageRef")).unwrap_or_default();
    let mut world = sim.world();
    if !compute::flavor_exists(&world, &flavor_id) {
        return Err(bad(&format!("Flavor {flavor_id} could not be found.")));
    }
    if !image_id.is_empty() && find(&world.images, &image_id).is_none() {
        return Err(bad("Can not find requested image"));
    }
    let key_name = server
        .get("key_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(key) = &key_name
        && !world
            .keypairs
            .iter()
            .any(|k| k.project_id == caller.user_id && &k.id == key)
    {
        return Err(bad("Invalid key_name provided."));
    }
    let spec = ServerSpec {
        project_id: caller.project_id.clone(),
        user_id: caller.user_id.clone(),
        name: name.to_owned(),
        flavor_id,
        image_id,
        metadata: server
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        key_name,
        availability_zone: server
            .get("availability_zone")
            .and_then(Value::as_str)
            .unwrap_or("nova")
            .to_owned(),
        with_port: true,
    };
    let id = compute::create_server(&mut world, spec);
    let disk_config = server
        .get("OS-DCF:diskConfig")
        .and_then(Value::as_str)
        .unwrap_or("MANUAL")
        .to_owned();
    if let Some(record) = crate::model::find_mut(&mut world.servers, &id) {
        record.set("OS-DCF:diskConfig", disk_config.clone());
        if let Some(ip) = server.get("accessIPv4").and_then(Value::as_str) {
            record.set("accessIPv4", ip);
        }
        if let Some(ip) = server.get("accessIPv6").and_then(Value::as_str) {
            record.set("accessIPv6", ip);
        }
    }
    let mut body = world.templates.server_created.clone();
    let links = self_links(&base, &caller.project_id, "servers", &id);
    let location = links[0]["href"].as_str().unwrap_or_default().to_owned();
    body.insert("id".into(), json!(id));
    body.insert("links".into(), links);
    body.insert("adminPass".into(), json!(world.hex(12)));
    body.insert("OS-DCF:diskConfig".into(), json!(disk_config));
    let groups = server
        .get("security_groups")
        .cloned()
        .unwrap_or_else(|| json!([{ "name": "default" }]));
    body.insert("security_groups".into(), groups);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!({ "server": body })),
    )
        .into_response())
}

/// An id from `"flavorRef": "1"`, `"flavorRef": 1` or a bookmark URL.
fn reference(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.rsplit('/').next().unwrap_or(s).to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `DELETE /servers/{id}`: the server goes away on the next tick.
async fn delete_server(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(server_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut world = sim.world();
    owned(&world, &caller, &server_id)?;
    run_action(&mut world, &server_id, Action::Delete)?;
    Ok(StatusCode::NO_CONTENT)
}

fn run_action(world: &mut World, server_id: &str, action: Action) -> Result<(), ApiError> {
    compute::act(world, server_id, action).map_err(|e| match e {
        ActionError::NotFound => not_found("Instance", server_id),
        ActionError::Conflict(message) => ApiError::nova(StatusCode::CONFLICT, message),
    })
}

/// `POST /servers/{id}/action` with `os-start`, `os-stop` or `reboot`.
async fn server_action(
    State(sim): State<Sim>,
    caller: Scoped,
    Path(server_id): Path<String>,
    Json(request): Json<Map<String, Value>>,
) -> Result<StatusCode, ApiError> {
    let action = if request.contains_key("os-start") {
        Action::Start
    } else if request.contains_key("os-stop") {
        Action::Stop
    } else if let Some(reboot) = request.get("reboot") {
        match reboot["type"]
            .as_str()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("HARD") => Action::HardReboot,
            Some("SOFT") => Action::SoftReboot,
            _ => {
                return Err(ApiError::nova(
                    StatusCode::BAD_REQUEST,
                    "Invalid input for field/attribute type.",
                ));
            }
        }
    } else {
        let names: Vec<&String> = request.keys().collect();
        return Err(ApiError::nova(
            StatusCode::BAD_REQUEST,
            format!("There is no such action: {names:?}"),
        ));
    };
    let mut world = sim.world();
    owned(&world, &caller, &server_id)?;
    run_action(&mut world, &server_id, action)?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /flavors/detail`: the sample flavors with this simulator's links.
async fn list_flavors(
    State(sim): State<Sim>,
    Base(base): Base,
    caller: Scoped,
    version: Microversion,
) -> Json<Value> {
    let world = sim.world();
    let flavors: Vec<Value> = world
        .templates
        .flavors
        .iter()
        .map(|f| {
            let mut flavor = f.clone();
            let id = flavor["id"].as_str().unwrap_or_default().to_owned();
            flavor.insert(
                "links".into(),
                self_links(&base, &caller.project_id, "flavors", &id),
            );
            Value::Object(views::flavor(flavor, version))
        })
        .collect();
    Json(json!({ "flavors": flavors }))
}

/// `GET /os-keypairs`: the token user's keypairs.
async fn list_keypairs(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
) -> Json<Value> {
    let world = sim.world();
    let keypairs: Vec<Value> = world
        .keypairs
        .iter()
        .filter(|k| k.project_id == caller.user_id)
        .map(|k| json!({ "keypair": views::keypair(k.body.clone(), version) }))
        .collect();
    Json(json!({ "keypairs": keypairs }))
}

/// `GET /os-server-groups`: the project's groups (admins: every project with `all_projects`).
async fn list_server_groups(
    State(sim): State<Sim>,
    caller: Scoped,
    version: Microversion,
    Query(params): Query<Params>,
) -> Json<Value> {
    let world = sim.world();
    let all = flag(&params, "all_projects");
    let groups: Vec<Object> = world
        .server_groups
        .iter()
        .filter(|g| caller.sees(g, all))
        .map(|g| views::server_group(g, &caller.user_id, version))
        .collect();
    Json(json!({ "server_groups": groups }))
}

type Object = Map<String, Value>;
