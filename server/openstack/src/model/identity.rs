//! Keystone models: projects, roles, the session and the service catalog.

use serde::{Deserialize, Serialize};

/// A Keystone project (tenant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// Project id.
    pub id: String,
    /// Project name.
    pub name: String,
    /// Free text; `null` when unset or empty.
    pub description: Option<String>,
    /// Owning domain.
    pub domain_id: Option<String>,
    /// Whether the project is enabled.
    pub enabled: bool,
    /// Parent project (or the domain) in the hierarchy.
    pub parent_id: Option<String>,
}

/// A Keystone role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Role id.
    pub id: String,
    /// Role name (e.g. `admin`, `member`); absent in some listings.
    pub name: Option<String>,
}

/// A grant of a role to a user or group on a project or domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// The granted role.
    pub role_id: String,
    /// The user holding it, for user assignments.
    pub user_id: Option<String>,
    /// The group holding it, for group assignments.
    pub group_id: Option<String>,
    /// The project it applies to, for project assignments.
    pub project_id: Option<String>,
    /// The domain it applies to, for domain assignments.
    pub domain_id: Option<String>,
}

/// Who the client is authenticated as, from its home token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// User id.
    pub user_id: String,
    /// User name.
    pub user_name: String,
    /// Scoped project id (`null` for an unscoped token).
    pub project_id: Option<String>,
    /// Scoped project name.
    pub project_name: Option<String>,
    /// Role names held in the scope.
    pub roles: Vec<String>,
    /// When the token expires.
    pub expires_at: String,
}

/// One service of the catalog with its endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    /// Service type, e.g. `compute`, `volumev3`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name, e.g. `nova`.
    pub name: Option<String>,
    /// Its endpoints.
    pub endpoints: Vec<CatalogEndpoint>,
}

/// One endpoint of a catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEndpoint {
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Region id.
    pub region: Option<String>,
    /// Base URL.
    pub url: String,
}
