//! Keystone v3: projects, roles, role assignments and the service catalog.

use serde::Deserialize;

use crate::auth::RawCatalogEntry;
use crate::client::{Call, Client};
use crate::de::non_empty;
use crate::error::{Error, Service};
use crate::ids::IdKind;
use crate::model::{CatalogEntry, Project, Role, RoleAssignment};

#[derive(Deserialize)]
struct RawProject {
    id: String,
    name: String,
    #[serde(default, deserialize_with = "non_empty")]
    description: Option<String>,
    #[serde(default)]
    domain_id: Option<String>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default)]
    parent_id: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

impl From<RawProject> for Project {
    fn from(raw: RawProject) -> Self {
        Self {
            id: raw.id,
            name: raw.name,
            description: raw.description,
            domain_id: raw.domain_id,
            enabled: raw.enabled,
            parent_id: raw.parent_id,
        }
    }
}

#[derive(Deserialize)]
struct Projects {
    projects: Vec<RawProject>,
}

#[derive(Deserialize)]
struct ProjectEnvelope {
    project: RawProject,
}

#[derive(Deserialize)]
struct RawRole {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Roles {
    roles: Vec<RawRole>,
}

#[derive(Deserialize)]
struct RawId {
    id: String,
}

#[derive(Deserialize, Default)]
struct RawAssignmentScope {
    #[serde(default)]
    project: Option<RawId>,
    #[serde(default)]
    domain: Option<RawId>,
}

#[derive(Deserialize)]
struct RawAssignment {
    role: RawId,
    #[serde(default)]
    user: Option<RawId>,
    #[serde(default)]
    group: Option<RawId>,
    #[serde(default)]
    scope: RawAssignmentScope,
}

#[derive(Deserialize)]
struct Assignments {
    role_assignments: Vec<RawAssignment>,
}

#[derive(Deserialize)]
struct Catalog {
    catalog: Vec<RawCatalogEntry>,
}

fn projects(raw: Projects) -> Vec<Project> {
    raw.projects.into_iter().map(Project::from).collect()
}

impl Client {
    /// Every project (`GET /v3/projects`; needs an admin token).
    pub async fn list_projects(&self) -> Result<Vec<Project>, Error> {
        let raw: Projects = self
            .fetch(Call::get(Service::Identity, ["projects"]))
            .await?;
        Ok(projects(raw))
    }

    /// One project (`GET /v3/projects/{id}`).
    pub async fn get_project(&self, project_id: &str) -> Result<Project, Error> {
        IdKind::Project.check(project_id)?;
        let path = ["projects", project_id];
        let raw: ProjectEnvelope = self.fetch(Call::get(Service::Identity, path)).await?;
        Ok(raw.project.into())
    }

    /// The projects the authenticated user may scope to (`GET /v3/auth/projects`).
    pub async fn list_auth_projects(&self) -> Result<Vec<Project>, Error> {
        let raw: Projects = self
            .fetch(Call::get(Service::Identity, ["auth", "projects"]))
            .await?;
        Ok(projects(raw))
    }

    /// The projects of a user (`GET /v3/users/{user_id}/projects`).
    pub async fn list_user_projects(&self, user_id: &str) -> Result<Vec<Project>, Error> {
        IdKind::User.check(user_id)?;
        let path = ["users", user_id, "projects"];
        let raw: Projects = self.fetch(Call::get(Service::Identity, path)).await?;
        Ok(projects(raw))
    }

    /// The roles a user has on a project (`GET /v3/projects/{p}/users/{u}/roles`).
    pub async fn list_user_roles(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<Vec<Role>, Error> {
        IdKind::Project.check(project_id)?;
        IdKind::User.check(user_id)?;
        let path = ["projects", project_id, "users", user_id, "roles"];
        let raw: Roles = self.fetch(Call::get(Service::Identity, path)).await?;
        Ok(raw
            .roles
            .into_iter()
            .map(|r| Role {
                id: r.id,
                name: r.name,
            })
            .collect())
    }

    /// Every role assignment (`GET /v3/role_assignments`).
    pub async fn list_role_assignments(&self) -> Result<Vec<RoleAssignment>, Error> {
        let raw: Assignments = self
            .fetch(Call::get(Service::Identity, ["role_assignments"]))
            .await?;
        Ok(raw
            .role_assignments
            .into_iter()
            .map(|a| RoleAssignment {
                role_id: a.role.id,
                user_id: a.user.map(|u| u.id),
                group_id: a.group.map(|g| g.id),
                project_id: a.scope.project.map(|p| p.id),
                domain_id: a.scope.domain.map(|d| d.id),
            })
            .collect())
    }

    /// The service catalog of the home token (`GET /v3/auth/catalog`).
    pub async fn catalog(&self) -> Result<Vec<CatalogEntry>, Error> {
        let raw: Catalog = self
            .fetch(Call::get(Service::Identity, ["auth", "catalog"]))
            .await?;
        Ok(raw.catalog.into_iter().map(CatalogEntry::from).collect())
    }
}
