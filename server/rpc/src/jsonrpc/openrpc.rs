//! The OpenRPC document `rpc.discover` returns: every method of the registry with its params
//! and result as JSON Schema, the named types under `components.schemas`.

use serde_json::{Map, Value, json};
use specta::Types;
use specta::datatype::DataType;

use super::names::MethodNames;
use super::schema::SchemaSet;
use crate::procedure::{ProcedureKind, Registry};

/// The OpenRPC version the document follows.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// Builds the document for `registry`, titled `title` at `version`.
pub fn document<S: Clone + Send + Sync + 'static>(
    registry: &Registry<S>,
    title: &str,
    version: &str,
) -> Value {
    let mut types = Types::default();
    let roots: Vec<(DataType, DataType)> = registry
        .procedures()
        .map(|p| (p.input_type(&mut types), p.output_type(&mut types)))
        .collect();
    let set = SchemaSet::new(&types);
    let mut methods = Vec::new();
    for (procedure, (input, output)) in registry.procedures().zip(&roots) {
        let params = if procedure.takes_input() {
            vec![json!({
                "name": "input",
                "required": !matches!(input, DataType::Nullable(_)),
                "schema": set.schema(input),
            })]
        } else {
            Vec::new()
        };
        let kind = procedure.kind();
        let mut method = json!({
            "name": procedure.path(),
            "summary": kind.as_str(),
            "paramStructure": "either",
            "params": params,
        });
        if kind == ProcedureKind::Subscription {
            let names = MethodNames::for_subscription(procedure.path());
            method["result"] = json!({ "name": "subscription", "schema": subscription_id() });
            method["x-notification"] = json!({
                "method": names.notification,
                "unsubscribe": names.unsubscribe,
                "params": {
                    "type": "object",
                    "properties": { "subscription": subscription_id(), "result": notice(set.schema(output)) },
                    "required": ["subscription", "result"],
                },
            });
            methods.push(method);
            methods.push(unsubscribe(&names.unsubscribe));
        } else {
            method["result"] = json!({ "name": "result", "schema": set.schema(output) });
            methods.push(method);
        }
    }
    let mut components = Map::new();
    components.insert("schemas".into(), Value::Object(set.components()));
    json!({
        "openrpc": OPENRPC_VERSION,
        "info": { "title": title, "version": version },
        "methods": methods,
        "components": components,
    })
}

fn subscription_id() -> Value {
    json!({ "anyOf": [{ "type": "string" }, { "type": "integer" }] })
}

/// What each notification's `result` holds: the tracking id and the event.
fn notice(data: Value) -> Value {
    json!({
        "type": "object",
        "properties": { "id": { "type": "string" }, "data": data },
        "required": ["data"],
    })
}

fn unsubscribe(name: &str) -> Value {
    json!({
        "name": name,
        "summary": "unsubscribe",
        "paramStructure": "by-position",
        "params": [{ "name": "subscription", "required": true, "schema": subscription_id() }],
        "result": { "name": "unsubscribed", "schema": { "type": "boolean" } },
    })
}
