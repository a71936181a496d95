//! OpenStack client for the Tidings BFF: Keystone v3 password auth with a cached, scoped token
//! per project, and typed calls to Nova v2.1, Cinder v3, Glance v2 and Neutron v2.0 that return
//! the normalized [`model`] types the BFF serves.
//!
//! Module map:
//! - [`model`]: the normalized, TypeScript-exported types.
//! - `client`: [`Client`], the token cache and the one request path (time-outs, retries,
//!   re-authentication); `auth`: Keystone tokens, catalog and endpoint normalization.
//! - `keystone`, `nova`, `cinder`, `glance`, `neutron`, `versions`: one file per service with its
//!   raw (private) response types and the [`Client`] methods.
//! - `path`: the one function every URL to a service is built by (endpoint plus percent-encoded
//!   segments); [`ids`]: the shape of each kind of id, checked before an id goes in a URL.
//! - [`error`]: [`Error`] and [`ErrorKind`]; `de`: deserializers for OpenStack's quirks.

#![warn(missing_docs, unreachable_pub)]

mod auth;
mod cinder;
mod client;
mod config;
mod de;
pub mod error;
mod glance;
pub mod ids;
mod keystone;
pub mod model;
mod neutron;
mod nova;
mod path;
mod versions;

pub use cinder::CreateVolume;
pub use client::Client;
pub use config::{ClientConfig, Observer};
pub use error::{Error, ErrorKind, Service};
pub use glance::{CreateImage, UpdateImage};
pub use ids::{IdKind, InvalidId};
pub use nova::CreateInstance;
