//! The converter against serde's wire shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use specta::Type;

use super::*;

/// A volume.
#[derive(Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
struct Volume {
    /// Its id.
    volume_id: String,
    size_gb: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    description: Option<String>,
    attached_to: Option<String>,
    status: Status,
    tags: Vec<String>,
    metadata: BTreeMap<String, i64>,
    #[serde(rename = "type")]
    kind: Kind,
}

#[derive(Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
enum Status {
    Available,
    InUse,
}

#[derive(Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Kind {
    Local,
    Remote { host: String },
}

#[derive(Serialize, Deserialize, Type)]
struct Page<T> {
    items: Vec<T>,
    next: Option<u64>,
}

#[derive(Serialize, Deserialize, Type)]
struct Pair(String, f64);

fn set_of(build: impl FnOnce(&mut Types) -> Vec<DataType>) -> (SchemaSet, Vec<Value>) {
    let mut types = Types::default();
    let roots = build(&mut types);
    let set = SchemaSet::new(&types);
    let schemas = roots.iter().map(|dt| set.schema(dt)).collect();
    (set, schemas)
}

#[test]
fn named_types_are_components_with_serde_names_and_optional_fields() {
    let (set, roots) = set_of(|t| vec![Volume::definition(t)]);
    assert_eq!(roots[0], json!({ "$ref": "#/components/schemas/Volume" }));
    let components = set.components();
    let volume = &components["Volume"];
    assert_eq!(volume["type"], "object");
    assert_eq!(volume["description"], "A volume.");
    let props = volume["properties"].as_object().unwrap();
    let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "attachedTo",
            "description",
            "metadata",
            "sizeGb",
            "status",
            "tags",
            "type",
            "volumeId"
        ]
    );
    assert_eq!(props["volumeId"]["description"], "Its id.");
    assert_eq!(props["sizeGb"], json!({ "type": "integer", "minimum": 0 }));
    assert_eq!(
        props["attachedTo"],
        json!({ "anyOf": [{ "type": "string" }, { "type": "null" }] })
    );
    assert_eq!(
        props["tags"],
        json!({ "type": "array", "items": { "type": "string" } })
    );
    assert_eq!(
        props["metadata"],
        json!({ "type": "object", "additionalProperties": { "type": "integer" } })
    );
    assert_eq!(
        props["status"],
        json!({ "$ref": "#/components/schemas/Status" })
    );
    let required: Vec<&str> = volume["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!required.contains(&"description"), "{required:?}");
    assert!(required.contains(&"attachedTo") && required.contains(&"type"));
}

#[test]
fn unit_enums_are_string_enums_with_serde_names() {
    let (set, _) = set_of(|t| vec![Status::definition(t)]);
    assert_eq!(
        set.components()["Status"],
        json!({ "type": "string", "enum": ["available", "inuse"] })
    );
}

#[test]
fn internally_tagged_enums_carry_their_tag() {
    let (set, _) = set_of(|t| vec![Kind::definition(t)]);
    let kind = set.components()["Kind"].clone();
    let text = kind.to_string();
    assert!(kind["anyOf"].is_array(), "{text}");
    assert!(text.contains(r#""const":"local""#), "{text}");
    assert!(text.contains(r#""const":"remote""#), "{text}");
    assert!(text.contains(r#""host""#), "{text}");
}

#[test]
fn generic_types_are_inlined_with_their_arguments() {
    let (set, roots) = set_of(|t| vec![Page::<Pair>::definition(t)]);
    assert!(!set.components().contains_key("Page"));
    assert_eq!(roots[0]["type"], "object");
    assert_eq!(
        roots[0]["properties"]["items"],
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/Pair" } })
    );
    assert_eq!(
        set.components()["Pair"],
        json!({
            "type": "array",
            "prefixItems": [{ "type": "string" }, { "type": "number" }],
            "items": false,
            "minItems": 2,
            "maxItems": 2,
        })
    );
}

#[test]
fn unit_option_and_primitives() {
    let (_, roots) = set_of(|t| {
        vec![
            <()>::definition(t),
            Option::<bool>::definition(t),
            <Vec<u8>>::definition(t),
        ]
    });
    assert_eq!(roots[0], json!({ "type": "null" }));
    assert_eq!(
        roots[1],
        json!({ "anyOf": [{ "type": "boolean" }, { "type": "null" }] })
    );
    assert_eq!(
        roots[2],
        json!({ "type": "array", "items": { "type": "integer", "minimum": 0 } })
    );
}
