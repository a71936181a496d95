//! The version documents every service answers at its root and at its versioned root, which
//! keystoneauth reads before it uses an endpoint ("discovery"): Keystone at `/identity` and
//! `/identity/v3`, Nova at `/compute` and `/compute/v2.1`, Cinder at `/volume` and `/volume/v3`,
//! Glance at `/image` and `/image/versions`, Neutron at `/network` and `/network/v2.0`. They are
//! the published samples with this simulator's links and its declared microversion ranges.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::Base;
use super::compute::NOVA;
use super::volume::CINDER;
use crate::sim::Sim;

/// A handler of one version document.
type Document = fn(State<Sim>, Base) -> Response;

/// The version routes (no token needed, as in every service).
pub(crate) fn mount() -> Router<Sim> {
    let mut router = Router::new();
    let documents: [(&str, Document); 10] = [
        ("/identity", identity_root),
        ("/identity/v3", identity_v3),
        ("/compute", compute_root),
        ("/compute/v2.1", compute_v21),
        ("/volume", volume_root),
        ("/volume/v3", volume_v3),
        ("/image", image_root),
        ("/image/versions", image_versions),
        ("/network", network_root),
        ("/network/v2.0", network_v20),
    ];
    for (path, handler) in documents {
        let answer = move |state: State<Sim>, base: Base| async move { handler(state, base) };
        router = router.route(path, get(answer));
        router = router.route(&format!("{path}/"), get(answer));
    }
    router
}

/// Points every `self` link of a sample at this simulator: the sample's path (its host
/// dropped) under the service's prefix. `describedby` links (documentation) stay.
fn relink(value: &mut Value, base: &str, prefix: &str) {
    match value {
        Value::Object(object) => {
            let documentation = object.get("rel").and_then(Value::as_str) == Some("describedby");
            if let (false, Some(Value::String(href))) = (documentation, object.get_mut("href")) {
                let path = href
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                    .unwrap_or_default();
                *href = if path.starts_with(prefix) {
                    format!("{base}{path}")
                } else {
                    format!("{base}{prefix}{path}")
                };
            }
            for member in object.values_mut() {
                relink(member, base, prefix);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| relink(v, base, prefix)),
        _ => {}
    }
}

fn document(mut body: Value, base: &str, prefix: &str) -> Value {
    relink(&mut body, base, prefix);
    body
}

/// Keystone's root: `300 Multiple Choices` listing v3 alone (v2.0 is long gone from Keystone,
/// although the sample still lists it).
fn identity_root(State(sim): State<Sim>, Base(base): Base) -> Response {
    let mut body = document(
        sim.world().templates.identity_versions.clone(),
        &base,
        "/identity",
    );
    if let Some(values) = body["versions"]["values"].as_array_mut() {
        values.retain(|v| v["id"].as_str().is_some_and(|id| id.starts_with("v3")));
    }
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

/// `GET /identity/v3`: the v3 version document.
fn identity_v3(State(sim): State<Sim>, Base(base): Base) -> Response {
    let body = document(
        sim.world().templates.identity_version.clone(),
        &base,
        "/identity",
    );
    Json(body).into_response()
}

/// Nova's range in a version entry.
fn with_nova_range(entry: &mut Value) {
    if entry["id"] == "v2.1" {
        entry["version"] = json!(NOVA.max_version());
        entry["min_version"] = json!(NOVA.min_version());
    }
}

/// `GET /compute`: v2.0 (deprecated) and v2.1 with its microversion range.
fn compute_root(State(sim): State<Sim>, Base(base): Base) -> Response {
    let mut body = document(
        sim.world().templates.compute_versions.clone(),
        &base,
        "/compute",
    );
    if let Some(entries) = body["versions"].as_array_mut() {
        entries.iter_mut().for_each(with_nova_range);
    }
    Json(body).into_response()
}

/// `GET /compute/v2.1`.
fn compute_v21(State(sim): State<Sim>, Base(base): Base) -> Response {
    let mut body = document(
        sim.world().templates.compute_version.clone(),
        &base,
        "/compute",
    );
    with_nova_range(&mut body["version"]);
    Json(body).into_response()
}

fn with_cinder_range(mut body: Value) -> Value {
    if let Some(entries) = body["versions"].as_array_mut() {
        for entry in entries.iter_mut().filter(|e| e["id"] == "v3.0") {
            entry["version"] = json!(CINDER.max_version());
            entry["min_version"] = json!(CINDER.min_version());
        }
    }
    body
}

/// `GET /volume`: `300 Multiple Choices` listing v3.
fn volume_root(State(sim): State<Sim>, Base(base): Base) -> Response {
    let templates = &sim.world().templates;
    let body = with_cinder_range(document(
        templates.volume_versions.clone(),
        &base,
        "/volume",
    ));
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

/// `GET /volume/v3/`: Cinder answers its versioned root with a one-entry `versions` list.
fn volume_v3(State(sim): State<Sim>, Base(base): Base) -> Response {
    let templates = &sim.world().templates;
    let body = with_cinder_range(document(templates.volume_version.clone(), &base, "/volume"));
    Json(body).into_response()
}

/// `GET /image` `300 Multiple Choices` with every v2.x.
fn image_root(State(sim): State<Sim>, Base(base): Base) -> Response {
    let body = document(
        sim.world().templates.image_versions.clone(),
        &base,
        "/image",
    );
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

/// `GET /image/versions`: the same list, `200 OK`.
fn image_versions(State(sim): State<Sim>, Base(base): Base) -> Response {
    let body = document(
        sim.world().templates.image_versions.clone(),
        &base,
        "/image",
    );
    Json(body).into_response()
}

/// `GET /network`: v2.0.
fn network_root(State(sim): State<Sim>, Base(base): Base) -> Response {
    let body = document(
        sim.world().templates.network_versions.clone(),
        &base,
        "/network",
    );
    Json(body).into_response()
}

/// `GET /network/v2.0`: the core resources.
fn network_v20(State(sim): State<Sim>, Base(base): Base) -> Response {
    let body = document(
        sim.world().templates.network_resources.clone(),
        &base,
        "/network",
    );
    Json(body).into_response()
}
