//! Deserializers for the quirks of OpenStack's JSON (see the fixtures' SOURCES.md).

use serde::{Deserialize, Deserializer};

/// `null` (or a missing field, with `#[serde(default)]`) becomes the type's default.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `null` and `""` both become `None` (Nova's `description`, Neutron's empty `project_id`).
pub(crate) fn non_empty<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.filter(|s| !s.is_empty()))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(u64),
    String(String),
}

/// Nova's flavor `swap`: `""` (none) before microversion 2.75, an integer in MiB after.
pub(crate) fn swap_mb<'de, D>(deserializer: D) -> Result<u32, D::Error>
where
    D: Deserializer<'de>,
{
    match Option::<IntOrString>::deserialize(deserializer)? {
        None => Ok(0),
        Some(IntOrString::Int(n)) => u32::try_from(n).map_err(serde::de::Error::custom),
        Some(IntOrString::String(s)) if s.is_empty() => Ok(0),
        Some(IntOrString::String(s)) => s.parse().map_err(serde::de::Error::custom),
    }
}

/// An id that is a string in newer microversions and an integer in older ones.
pub(crate) fn string_or_int<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match IntOrString::deserialize(deserializer)? {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s,
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    String(String),
}

/// Cinder's `bootable`: the string `"true"`/`"false"` (a boolean is accepted too).
pub(crate) fn loose_bool<'de, D>(deserializer: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    match Option::<BoolOrString>::deserialize(deserializer)? {
        None => Ok(false),
        Some(BoolOrString::Bool(b)) => Ok(b),
        Some(BoolOrString::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "expected \"true\" or \"false\", got {other:?}"
            ))),
        },
    }
}

/// A limit where `-1` means unlimited: negative values become `None`.
pub(crate) fn limit(value: i64) -> Option<u32> {
    u32::try_from(value).ok()
}

/// A usage count: negative values (never expected) become 0, huge ones saturate.
pub(crate) fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "swap_mb")]
        swap: u32,
        #[serde(deserialize_with = "loose_bool")]
        bootable: bool,
        #[serde(default, deserialize_with = "non_empty")]
        description: Option<String>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn quirks_are_absorbed() {
        let p = probe(r#"{"swap": "", "bootable": "false", "description": ""}"#);
        assert_eq!((p.swap, p.bootable, p.description), (0, false, None));
        let p = probe(r#"{"swap": 512, "bootable": "true", "description": null}"#);
        assert_eq!((p.swap, p.bootable, p.description), (512, true, None));
        let p = probe(r#"{"swap": 0, "bootable": true, "description": "d"}"#);
        assert_eq!(
            (p.swap, p.bootable, p.description.as_deref()),
            (0, true, Some("d"))
        );
        assert!(serde_json::from_str::<Probe>(r#"{"swap": 0, "bootable": "maybe"}"#).is_err());
        assert_eq!(limit(-1), None);
        assert_eq!(limit(10), Some(10));
    }
}
