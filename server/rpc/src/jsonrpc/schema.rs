//! specta types to JSON Schema (draft 2020-12, as OpenRPC 1.3 uses it), after serde's
//! attributes are applied by `specta-serde` (renames, tagging, skips, optional fields).
//!
//! Named types become `components.schemas` entries referenced with `$ref`; generic named types
//! are inlined with their arguments substituted, since JSON Schema has no generics.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use specta::Format as _;
use specta::Types;
use specta::datatype::{
    DataType, Enum, Fields, Generic, NamedDataType, NamedReference, NamedReferenceType, Primitive,
    Reference, Variant,
};

/// Where `$ref`s point.
const REF_PREFIX: &str = "#/components/schemas/";
/// Deeper inlining than this (generic types nesting themselves) gives up with `{}`.
const MAX_DEPTH: usize = 64;

/// The named types of a registry with serde's view applied, ready to render as JSON Schema.
#[derive(Debug)]
pub struct SchemaSet {
    /// The serde-formatted type graph.
    types: Types,
    /// Component key of each named type, by (module path, name).
    keys: HashMap<(String, String), String>,
}

type Env<'a> = &'a [(Generic, DataType)];

impl SchemaSet {
    /// Applies serde's attributes to `types`; when specta-serde rejects the graph, the raw graph
    /// is used (field names then are the Rust ones) and the reason is logged.
    pub fn new(types: &Types) -> Self {
        let types = match specta_serde::Format.map_types(types) {
            Ok(formatted) => formatted.into_owned(),
            Err(error) => {
                tracing::warn!(error = %error, "serde view of the types failed; using raw types");
                types.clone()
            }
        };
        let mut count: HashMap<String, usize> = HashMap::new();
        for ndt in types.into_unsorted_iter() {
            *count.entry(ndt.name.to_string()).or_default() += 1;
        }
        let keys = types
            .into_unsorted_iter()
            .map(|ndt| {
                let key = if count[ndt.name.as_ref()] > 1 && !ndt.module_path.is_empty() {
                    format!("{}.{}", ndt.module_path.replace("::", "."), ndt.name)
                } else {
                    ndt.name.to_string()
                };
                ((ndt.module_path.to_string(), ndt.name.to_string()), key)
            })
            .collect();
        Self { types, keys }
    }

    /// The schema of `dt` (a type returned by `Type::definition` with the same `Types`).
    pub fn schema(&self, dt: &DataType) -> Value {
        let formatted = specta_serde::Format.map_type(&self.types, dt);
        let dt = formatted.as_deref().unwrap_or(dt);
        self.convert(dt, &[], 0)
    }

    /// `components.schemas`: every non-generic named type, by key.
    pub fn components(&self) -> Map<String, Value> {
        self.types
            .into_sorted_iter()
            .filter(|ndt| ndt.generics.is_empty())
            .filter_map(|ndt| {
                let ty = ndt.ty.as_ref()?;
                let mut schema = self.convert(ty, &[], 0);
                describe(&mut schema, &ndt.docs);
                Some((self.key(ndt), schema))
            })
            .collect()
    }

    fn key(&self, ndt: &NamedDataType) -> String {
        self.keys
            .get(&(ndt.module_path.to_string(), ndt.name.to_string()))
            .cloned()
            .unwrap_or_else(|| ndt.name.to_string())
    }

    fn convert(&self, dt: &DataType, env: Env<'_>, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return json!({});
        }
        let next = depth + 1;
        match dt {
            DataType::Primitive(p) => primitive(p),
            DataType::List(list) => {
                let mut schema =
                    json!({ "type": "array", "items": self.convert(&list.ty, env, next) });
                if let Some(n) = list.length {
                    schema["minItems"] = n.into();
                    schema["maxItems"] = n.into();
                }
                if list.unique {
                    schema["uniqueItems"] = true.into();
                }
                schema
            }
            DataType::Map(map) => json!({
                "type": "object",
                "additionalProperties": self.convert(map.value_ty(), env, next),
            }),
            DataType::Struct(s) => self.fields(&s.fields, env, next),
            DataType::Enum(e) => self.enumeration(e, env, next),
            DataType::Tuple(t) => self.tuple(t.elements.iter().collect(), env, next),
            DataType::Nullable(inner) => json!({
                "anyOf": [self.convert(inner, env, next), { "type": "null" }],
            }),
            DataType::Intersection(parts) => json!({
                "allOf": parts.iter().map(|p| self.convert(p, env, next)).collect::<Vec<_>>(),
            }),
            DataType::Generic(g) => match env.iter().find(|(name, _)| name == g) {
                Some((_, bound)) => self.convert(bound, &[], next),
                None => json!({}),
            },
            DataType::Reference(Reference::Named(r)) => self.reference(r, env, next),
            DataType::Reference(Reference::Opaque(o)) => json!({ "description": o.type_name() }),
        }
    }

    fn reference(&self, r: &NamedReference, env: Env<'_>, depth: usize) -> Value {
        match &r.inner {
            NamedReferenceType::Inline { dt, .. } => self.convert(dt, env, depth),
            NamedReferenceType::Reference { generics, .. } if !generics.is_empty() => {
                // Resolve the arguments in the caller's environment, then inline the body.
                let bound: Vec<(Generic, DataType)> = generics
                    .iter()
                    .map(|(g, dt)| (g.clone(), substitute(dt, env)))
                    .collect();
                match self.types.get(r).and_then(|ndt| ndt.ty.as_ref()) {
                    Some(ty) => self.convert(ty, &bound, depth),
                    None => json!({}),
                }
            }
            NamedReferenceType::Reference { .. } | NamedReferenceType::Recursive(_) => {
                match self.types.get(r) {
                    Some(ndt) => json!({ "$ref": format!("{REF_PREFIX}{}", self.key(ndt)) }),
                    None => json!({}),
                }
            }
        }
    }

    /// A struct's or a variant's payload.
    fn fields(&self, fields: &Fields, env: Env<'_>, depth: usize) -> Value {
        match fields {
            Fields::Unit => json!({ "type": "null" }),
            Fields::Unnamed(unnamed) => {
                let live: Vec<&DataType> = unnamed
                    .fields
                    .iter()
                    .filter_map(|f| f.ty.as_ref())
                    .collect();
                match live.as_slice() {
                    [one] if unnamed.fields.len() == 1 => self.convert(one, env, depth),
                    _ => self.tuple(live, env, depth),
                }
            }
            Fields::Named(named) => {
                let mut properties = Map::new();
                let mut required = Vec::new();
                for (name, field) in &named.fields {
                    let Some(ty) = &field.ty else { continue };
                    let mut schema = self.convert(ty, env, depth);
                    describe(&mut schema, &field.docs);
                    if field.deprecated.is_some() {
                        schema["deprecated"] = true.into();
                    }
                    properties.insert(name.to_string(), schema);
                    if !field.optional {
                        required.push(Value::from(name.as_ref()));
                    }
                }
                let mut schema = json!({ "type": "object", "properties": properties });
                if !required.is_empty() {
                    schema["required"] = required.into();
                }
                schema
            }
        }
    }

    fn tuple(&self, elements: Vec<&DataType>, env: Env<'_>, depth: usize) -> Value {
        if elements.is_empty() {
            return json!({ "type": "null" });
        }
        let n = elements.len();
        json!({
            "type": "array",
            "prefixItems": elements.into_iter().map(|e| self.convert(e, env, depth)).collect::<Vec<_>>(),
            "items": false,
            "minItems": n,
            "maxItems": n,
        })
    }

    /// After serde formatting an enum is a union of its variants' wire shapes; a unit variant
    /// is its (serialized) name as a string.
    fn enumeration(&self, e: &Enum, env: Env<'_>, depth: usize) -> Value {
        let variants: Vec<(&str, &Variant)> = e
            .variants
            .iter()
            .filter(|(_, v)| !v.skip)
            .map(|(name, v)| (name.as_ref(), v))
            .collect();
        let mut options: Vec<Value> = variants
            .iter()
            .map(|(name, v)| {
                let mut schema = match &v.fields {
                    Fields::Unit => json!({ "type": "string", "const": name }),
                    Fields::Unnamed(u) if u.fields.is_empty() => {
                        json!({ "type": "array", "maxItems": 0 })
                    }
                    fields => self.fields(fields, env, depth),
                };
                describe(&mut schema, &v.docs);
                schema
            })
            .collect();
        let names: Option<Vec<Value>> = options.iter().map(string_const).collect();
        match (options.len(), names) {
            (0, _) => json!({ "not": {} }),
            (1, _) => options.remove(0),
            (_, Some(names)) => json!({ "type": "string", "enum": names }),
            _ => json!({ "anyOf": options }),
        }
    }
}

/// The literal of a bare `{"type":"string","const":…}` schema (an undocumented unit variant).
fn string_const(schema: &Value) -> Option<Value> {
    let map = schema.as_object()?;
    (map.len() == 2 && map.get("type")? == "string")
        .then(|| map.get("const").cloned())
        .flatten()
}

fn primitive(p: &Primitive) -> Value {
    use Primitive::*;
    match p {
        i8 | i16 | i32 | i64 | i128 | isize => json!({ "type": "integer" }),
        u8 | u16 | u32 | u64 | u128 | usize => json!({ "type": "integer", "minimum": 0 }),
        f16 | f32 | f64 | f128 => json!({ "type": "number" }),
        bool => json!({ "type": "boolean" }),
        char => json!({ "type": "string", "minLength": 1, "maxLength": 1 }),
        str => json!({ "type": "string" }),
    }
}

/// Replaces generic placeholders in `dt` by their bindings in `env` (top level only: a bound
/// argument is itself concrete once the caller's environment is applied).
fn substitute(dt: &DataType, env: Env<'_>) -> DataType {
    match dt {
        DataType::Generic(g) => env
            .iter()
            .find(|(name, _)| name == g)
            .map(|(_, bound)| bound.clone())
            .unwrap_or_else(|| dt.clone()),
        _ => dt.clone(),
    }
}

fn describe(schema: &mut Value, docs: &str) {
    let docs = docs.trim();
    if !docs.is_empty()
        && let Value::Object(map) = schema
        && !map.contains_key("$ref")
    {
        map.insert("description".into(), docs.into());
    }
}

#[cfg(test)]
mod tests;
