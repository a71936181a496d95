//! Keystone's store: one domain, its projects, users, roles, role assignments and issued tokens.
//! Behind a real Keystone it holds that Keystone's projects instead, and takes up the users,
//! projects and roles of the tokens it validates (for the records' owners and for background
//! activity; what a caller may do is decided by the token alone).

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

    /// A store of another Keystone's projects (ids and names as it has them), the one named
    /// `admin` first (it owns the public images and the external network), no users yet.
    pub(crate) fn foreign(mut projects: Vec<Project>) -> Self {
        projects.sort_by_key(|p| p.name != "admin");
        Self {
            projects,
            ..Self::default()
        }
    }

    /// Takes up what a token of another Keystone says: its user and project (new ones are
    /// added, known ones keep their ids) and its roles there, which replace the user's grants
    /// on that project.
    pub(crate) fn adopt(&mut self, user: &User, project: Option<&Project>, roles: &[Role]) {
        if self.user(&user.id).is_none() {
            self.users.push(user.clone());
        }
        let Some(project) = project else {
            return;
        };
        if self.project(&project.id).is_none() {
            self.projects.push(project.clone());
        }
        for role in roles {
            if !self.roles.iter().any(|r| r.id == role.id) {
                self.roles.push(role.clone());
            }
        }
        let granted = |a: &Assignment| a.user_id == user.id && a.project_id == project.id;
        let unchanged = {
            let mut held: Vec<&str> = self
                .assignments
                .iter()
                .filter(|a| granted(a))
                .map(|a| a.role_id.as_str())
                .collect();
            let mut told: Vec<&str> = roles.iter().map(|r| r.id.as_str()).collect();
            held.sort_unstable();
            told.sort_unstable();
            held == told
        };
        if unchanged {
            return;
        }
        self.assignments.retain(|a| !granted(a));
        self.assignments.extend(roles.iter().map(|r| Assignment {
            user_id: user.id.clone(),
            project_id: project.id.clone(),
            role_id: r.id.clone(),
        }));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn project(id: &str, name: &str) -> Project {
        Project {
            id: id.into(),
            name: name.into(),
            description: String::new(),
        }
    }

    fn role(id: &str, name: &str) -> Role {
        Role {
            id: id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_foreign_store_takes_up_what_tokens_tell() {
        let mut identity = Identity::foreign(vec![project("p2", "demo"), project("p1", "admin")]);
        assert_eq!(identity.projects[0].name, "admin");
        assert!(identity.users.is_empty());
        let alice = User {
            id: "u1".into(),
            name: "alice".into(),
            password: String::new(),
        };
        let demo = project("p2", "demo");
        let roles = [role("r1", "member"), role("r2", "reader")];
        identity.adopt(&alice, Some(&demo), &roles);
        identity.adopt(&alice, Some(&demo), &roles);
        assert_eq!(identity.users.len(), 1);
        assert_eq!(identity.projects.len(), 2);
        assert_eq!(identity.roles_on("u1", "p2").len(), 2);
        assert_eq!(identity.projects_of("u1").len(), 1);
        // Roles taken away in Keystone are taken away here with the next token.
        identity.adopt(&alice, Some(&demo), &roles[1..]);
        let names: Vec<&str> = identity
            .roles_on("u1", "p2")
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["reader"]);
        // A project created after the start arrives with its first token.
        identity.adopt(&alice, Some(&project("p3", "new")), &roles[..1]);
        assert!(identity.project("p3").is_some());
        assert!(!identity.is_admin("u1", Some("p3")));
    }
}
