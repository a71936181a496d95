//! Keystone's store: one domain, its projects, users, roles, role assignments and issued tokens.

use std::collections::HashMap;

use crate::seed;
use crate::time::Stamp;

/// A Keystone project.
#[derive(Clone, Debug)]
pub(crate) struct Project {
    /// Keystone id (32 hex digits).
    pub id: String,
    /// Unique name within the domain.
    pub name: String,
    /// Free text shown by consoles.
    pub description: String,
}

/// A Keystone user with its password.
#[derive(Clone, Debug)]
pub(crate) struct User {
    /// Keystone id (32 hex digits).
    pub id: String,
    /// Login name within the domain.
    pub name: String,
    /// Clear-text password; this is a simulator.
    pub password: String,
}

/// A Keystone role.
#[derive(Clone, Debug)]
pub(crate) struct Role {
    /// Keystone id (32 hex digits).
    pub id: String,
    /// `admin`, `member` or `reader`.
    pub name: String,
}

/// A role granted to a user on a project.
#[derive(Clone, Debug)]
pub(crate) struct Assignment {
    /// Grantee.
    pub user_id: String,
    /// Scope.
    pub project_id: String,
    /// Granted role.
    pub role_id: String,
}

/// An issued token.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// Whose token it is.
    pub user_id: String,
    /// Scoped project, `None` for an unscoped token.
    pub project_id: Option<String>,
    /// When it was issued.
    pub issued: Stamp,
    /// When it stops being accepted.
    pub expires: Stamp,
    /// Keystone's audit id (22 url-safe characters).
    pub audit_id: String,
}

/// Keystone's whole state.
#[derive(Debug, Default)]
pub(crate) struct Identity {
    /// All projects of the one domain.
    pub projects: Vec<Project>,
    /// All users.
    pub users: Vec<User>,
    /// All roles.
    pub roles: Vec<Role>,
    /// Role grants.
    pub assignments: Vec<Assignment>,
    /// Issued tokens by token string.
    pub tokens: HashMap<String, Session>,
}

impl Identity {
    /// The seeded domain: projects, users and grants of [`seed`].
    pub(crate) fn seeded(seed_value: u64) -> Self {
        let projects = seed::PROJECTS
            .iter()
            .map(|p| Project {
                id: seed::project_id(seed_value, p.name),
                name: p.name.to_owned(),
                description: p.description.to_owned(),
            })
            .collect();
        let users = seed::USERS
            .iter()
            .map(|u| User {
                id: seed::user_id(seed_value, u.name),
                name: u.name.to_owned(),
                password: u.password.to_owned(),
            })
            .collect();
        let roles = seed::ROLES
            .iter()
            .map(|r| Role {
                id: seed::role_id(seed_value, r),
                name: (*r).to_owned(),
            })
            .collect();
        let assignments = seed::USERS
            .iter()
            .flat_map(|u| {
                u.grants.iter().map(move |(project, role)| Assignment {
                    user_id: seed::user_id(seed_value, u.name),
                    project_id: seed::project_id(seed_value, project),
                    role_id: seed::role_id(seed_value, role),
                })
            })
            .collect();
        Self {
            projects,
            users,
            roles,
            assignments,
            tokens: HashMap::new(),
        }
    }

    /// The user with this id.
    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user with this name.
    pub(crate) fn user_named(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The project with this id.
    pub(crate) fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    /// The project with this name.
    pub(crate) fn project_named(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.name == name)
    }

    /// Roles the user holds on the project.
    pub(crate) fn roles_on(&self, user_id: &str, project_id: &str) -> Vec<&Role> {
        self.assignments
            .iter()
            .filter(|a| a.user_id == user_id && a.project_id == project_id)
            .filter_map(|a| self.roles.iter().find(|r| r.id == a.role_id))
            .collect()
    }

    /// Projects on which the user holds any role.
    pub(crate) fn projects_of(&self, user_id: &str) -> Vec<&Project> {
        self.projects
            .iter()
            .filter(|p| !self.roles_on(user_id, &p.id).is_empty())
            .collect()
    }

    /// Whether a token for this user and scope carries the admin role.
    pub(crate) fn is_admin(&self, user_id: &str, project_id: Option<&str>) -> bool {
        project_id.is_some_and(|p| self.roles_on(user_id, p).iter().any(|r| r.name == "admin"))
    }

    /// The live session behind a token, if it exists and has not expired.
    pub(crate) fn session(&self, token: &str, now: Stamp) -> Option<&Session> {
        self.tokens.get(token).filter(|s| s.expires > now)
    }

    /// Forgets expired tokens.
    pub(crate) fn expire(&mut self, now: Stamp) {
        self.tokens.retain(|_, s| s.expires > now);
    }
}
