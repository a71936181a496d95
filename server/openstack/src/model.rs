//! The normalized types the BFF serves to TypeScript frontends.
//!
//! Field names are camelCase on the wire; dates stay ISO-8601 strings as OpenStack sent them.
//! Representations are stable (declared field order, `BTreeMap` for maps) because the BFF
//! hashes serialized values to detect changes. Integers that may exceed 32 bits are exported to
//! TypeScript as `number` with `#[specta(type = f64)]`; they are exact below 2^53.

mod compute;
mod identity;
mod image;
mod network;
mod volume;

pub use compute::*;
pub use identity::*;
pub use image::*;
pub use network::*;
pub use volume::*;

use serde::{Deserialize, Serialize};

/// A quota: the limit and, where the upstream reports it, how much is in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    /// The limit; `null` when unlimited (OpenStack's `-1`).
    pub limit: Option<u32>,
    /// Current usage; `null` when the upstream did not report it.
    pub in_use: Option<u32>,
}

/// The id and name of a resource, from the cheap (non-detailed) list calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// Resource id.
    pub id: String,
    /// Resource name, when it has one.
    pub name: Option<String>,
}

/// One API version a service offers (from its version document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersion {
    /// Version id, e.g. `v2.1`.
    pub id: String,
    /// `CURRENT`, `SUPPORTED` or `DEPRECATED`.
    pub status: String,
    /// Highest microversion, when the version has microversions.
    pub max_microversion: Option<String>,
    /// Lowest microversion, when the version has microversions.
    pub min_microversion: Option<String>,
    /// When the version last changed.
    pub updated: Option<String>,
}
