//! Keystone: tokens, the catalog, projects, roles and role assignments.

use axum::http::Method;
use tidings_openstack::{ErrorKind, Service};

use crate::support::{ADMIN_PROJECT, AUTH_PATH, FakeCloud, Reply};

#[tokio::test]
async fn project_scoped_admin_token_gives_the_session_and_the_catalog() {
    let cloud = FakeCloud::start().await;
    let session = cloud.client().session().await.unwrap();
    assert_eq!(session.user_name, "admin");
    assert_eq!(session.user_id, "ee4dfb6e5540447cb3741905149d9b6e");
    assert_eq!(session.project_id.as_deref(), Some(ADMIN_PROJECT));
    assert_eq!(session.roles, ["admin"]);
    assert_eq!(session.expires_at, "2015-11-07T02:58:43.578887Z");

    let auth = &cloud.auth_requests()[0];
    let body = auth.json();
    assert_eq!(body["auth"]["identity"]["methods"][0], "password");
    assert_eq!(
        body["auth"]["identity"]["password"]["user"]["name"],
        "admin"
    );
    assert_eq!(body["auth"]["scope"]["project"]["name"], "admin");
    assert_eq!(
        body["auth"]["scope"]["project"]["domain"]["name"],
        "Default"
    );
}

#[tokio::test]
async fn unscoped_token_has_a_session_but_no_catalog() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::POST,
        AUTH_PATH,
        Reply::status(
            201,
            crate::support::fixture("keystone/auth/responses/unscoped-password.json"),
        ),
    );
    let client = cloud.client();
    let session = client.session().await.unwrap();
    assert_eq!(session.user_id, "10a2e6e717a245d9acad3e5f97aeca3d");
    assert_eq!(session.project_id, None);
    assert!(session.roles.is_empty());
    let error = client.list_instances().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn identity_only_catalog_still_reaches_keystone_but_not_cinder() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::POST,
        AUTH_PATH,
        Reply::status(
            201,
            crate::support::fixture("keystone/auth/responses/project-scoped-password.json"),
        ),
    );
    cloud.get(
        "/identity/v3/projects",
        "keystone/admin/user-projects-list-response.json",
    );
    let client = cloud.client();
    let session = client.session().await.unwrap();
    assert_eq!(session.project_id.as_deref(), Some(ADMIN_PROJECT));
    assert_eq!(session.roles, ["admin"]);
    assert_eq!(client.list_projects().await.unwrap().len(), 2);
    let error = client.list_volumes().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("volumev3"), "{error}");
}

#[tokio::test]
async fn service_catalog_lists_services_and_endpoints() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        "/identity/v3/auth/catalog",
        "keystone/admin/get-service-catalog-response.json",
    );
    let catalog = cloud.client().catalog().await.unwrap();
    assert_eq!(catalog.len(), 1);
    assert_eq!(catalog[0].service_type, "identity");
    assert_eq!(catalog[0].name.as_deref(), Some("keystone"));
    assert_eq!(catalog[0].endpoints.len(), 3);
    assert_eq!(catalog[0].endpoints[0].interface, "public");
    assert_eq!(catalog[0].endpoints[0].url, "http://localhost:5000");
    assert_eq!(catalog[0].endpoints[0].region.as_deref(), Some("RegionOne"));
}

#[tokio::test]
async fn available_project_scopes_are_projects() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        "/identity/v3/auth/projects",
        "keystone/admin/get-available-project-scopes-response.json",
    );
    let projects = cloud.client().list_auth_projects().await.unwrap();
    assert_eq!(projects.len(), 2);
    assert_eq!(projects[0].id, "263fd9");
    assert_eq!(projects[0].name, "Test Group");
    assert_eq!(projects[0].domain_id.as_deref(), Some("1789d1"));
    assert_eq!(projects[0].description, None);
    assert!(projects[0].enabled);
}

#[tokio::test]
async fn user_projects_and_all_projects_parse() {
    let cloud = FakeCloud::start().await;
    let sample = "keystone/admin/user-projects-list-response.json";
    cloud.get("/identity/v3/users/313233/projects", sample);
    cloud.get("/identity/v3/projects", sample);
    let client = cloud.client();
    let projects = client.list_user_projects("313233").await.unwrap();
    assert_eq!(projects[1].id, "456789");
    assert_eq!(projects[1].name, "another domain");
    assert_eq!(projects[1].parent_id.as_deref(), Some("212223"));
    assert_eq!(
        projects[1].description.as_deref(),
        Some("description of this project")
    );
    assert_eq!(client.list_projects().await.unwrap(), projects);
}

#[tokio::test]
async fn one_project_is_unwrapped() {
    let cloud = FakeCloud::start().await;
    let body = r#"{"project": {"id": "456788", "name": "a project name", "domain_id": "161718",
        "enabled": false, "description": "", "parent_id": "212223", "links": {}}}"#;
    cloud.on(Method::GET, "/identity/v3/projects/456788", Reply::ok(body));
    let project = cloud.client().get_project("456788").await.unwrap();
    assert_eq!(project.name, "a project name");
    assert!(!project.enabled);
    assert_eq!(project.description, None);
}

#[tokio::test]
async fn project_user_roles_parse() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        "/identity/v3/projects/9e5a/users/b964/roles",
        "keystone/admin/project-user-roles-list-response.json",
    );
    let roles = cloud
        .client()
        .list_user_roles("9e5a", "b964")
        .await
        .unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].id, "3b5347fa7a144008ba57c0acea469cc3");
    assert_eq!(roles[0].name.as_deref(), Some("admin"));
}

#[tokio::test]
async fn role_assignments_keep_user_group_and_scope() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        "/identity/v3/role_assignments",
        "keystone/admin/role-assignments-list-response.json",
    );
    let assignments = cloud.client().list_role_assignments().await.unwrap();
    assert_eq!(assignments.len(), 2);
    assert_eq!(assignments[0].user_id.as_deref(), Some("313233"));
    assert_eq!(assignments[0].domain_id.as_deref(), Some("161718"));
    assert_eq!(assignments[0].project_id, None);
    assert_eq!(assignments[1].group_id.as_deref(), Some("101112"));
    assert_eq!(assignments[1].project_id.as_deref(), Some("456789"));
    assert_eq!(assignments[1].role_id, "123456");
}

#[tokio::test]
async fn wrong_password_is_an_auth_error() {
    let cloud = FakeCloud::start().await;
    let body = r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
    cloud.on(Method::POST, AUTH_PATH, Reply::status(401, body));
    let error = cloud.client().list_flavors().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.to_string().contains("requires authentication"));
    assert_eq!(error.service(), None::<Service>);
    assert_eq!(
        cloud.auth_requests().len(),
        1,
        "a refused password is not retried"
    );
}
