//! The version documents services publish at their root, for readiness and diagnostics.

use serde::Deserialize;

use crate::client::{Call, Client};
use crate::de::non_empty;
use crate::error::{Error, Service};
use crate::model::ApiVersion;

/// `{"versions": [..]}` (Nova, Cinder, Glance, Neutron) or `{"versions": {"values": [..]}}`
/// (Keystone).
#[derive(Deserialize)]
struct Versions {
    versions: VersionList,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VersionList {
    Plain(Vec<RawVersion>),
    Wrapped { values: Vec<RawVersion> },
}

#[derive(Deserialize)]
struct RawVersion {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "non_empty")]
    version: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    min_version: Option<String>,
    #[serde(default)]
    updated: Option<String>,
}

impl From<RawVersion> for ApiVersion {
    fn from(raw: RawVersion) -> Self {
        Self {
            id: raw.id,
            status: raw.status,
            max_microversion: raw.version,
            min_microversion: raw.min_version,
            updated: raw.updated,
        }
    }
}

impl Client {
    /// The API versions a service offers (`GET {service root}/`).
    pub async fn api_versions(&self, service: Service) -> Result<Vec<ApiVersion>, Error> {
        let raw: Versions = self
            .fetch(Call::get(service, [] as [&str; 0]).at_service_root())
            .await?;
        let list = match raw.versions {
            VersionList::Plain(list) | VersionList::Wrapped { values: list } => list,
        };
        Ok(list.into_iter().map(ApiVersion::from).collect())
    }
}
