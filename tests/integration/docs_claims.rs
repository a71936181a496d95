//! What docs/api.md claims, checked against a real server: the lists said to take a
//! `{projectId}` filter narrow to that project, and refuse one the caller has no role on.

use std::collections::HashMap;

use serde_json::{Value, json};
use tidings_tests::{Caller, TestApp};

/// The `id`s of a list reply's items.
fn ids(items: &Value) -> Vec<String> {
    let mut ids: Vec<String> = items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The project of every volume, as the administrator sees them.
async fn volume_projects(app: &TestApp) -> HashMap<String, String> {
    let volumes = app.query("volumes.getAll", None).await;
    volumes
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let project = v["projectId"].as_str().unwrap_or_default().to_owned();
            (v["id"].as_str().unwrap().to_owned(), project)
        })
        .collect()
}

/// The projects of the volumes `backups` were made of.
fn backup_projects(backups: &Value, volumes: &HashMap<String, String>) -> Vec<String> {
    let mut projects: Vec<String> = backups
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {backups}"))
        .iter()
        .map(|b| volumes[b["volumeId"].as_str().unwrap()].clone())
        .collect();
    projects.sort();
    projects.dedup();
    projects
}

/// `path` with `{projectId: project}` as `caller`.
async fn in_project(caller: &Caller, path: &str, project: &str) -> tidings_tests::Reply {
    caller
        .query(path, Some(json!({ "projectId": project })))
        .await
}

#[tokio::test]
async fn projects_get_all_takes_the_project_filter() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let alice = app.user("alice").await;

    let own = in_project(&alice, "projects.getAll", &demo).await;
    assert_eq!(ids(own.data()), std::slice::from_ref(&demo));
    let foreign = in_project(&alice, "projects.getAll", &ops).await;
    assert_eq!(foreign.error_code(), "FORBIDDEN", "{}", foreign.body);
    assert_eq!(foreign.status, 403);

    let admin = in_project(&app.admin(), "projects.getAll", &ops).await;
    assert_eq!(ids(admin.data()), std::slice::from_ref(&ops));
    let unfiltered = app.query("projects.getAll", None).await;
    assert!(ids(unfiltered.data()).len() > 1, "{}", unfiltered.body);
}

#[tokio::test]
async fn volume_backups_take_the_project_filter_by_their_volumes_project() {
    let app = TestApp::spawn().await;
    let (demo, ops) = (app.project_id("demo"), app.project_id("ops"));
    let alice = app.user("alice").await;
    let volumes = volume_projects(&app).await;

    let everything = app.query("volumes.backups.getAll", None).await;
    let all = backup_projects(everything.data(), &volumes);
    assert!(
        all.contains(&demo) && all.contains(&ops),
        "the seed has backups in demo and ops: {all:?}"
    );
    for project in [&demo, &ops] {
        let narrowed = in_project(&app.admin(), "volumes.backups.getAll", project).await;
        assert_eq!(
            backup_projects(narrowed.data(), &volumes),
            std::slice::from_ref(project)
        );
    }

    let own = in_project(&alice, "volumes.backups.getAll", &demo).await;
    assert_eq!(
        backup_projects(own.data(), &volumes),
        std::slice::from_ref(&demo)
    );
    let foreign = in_project(&alice, "volumes.backups.getAll", &ops).await;
    assert_eq!(foreign.error_code(), "FORBIDDEN", "{}", foreign.body);
}

#[tokio::test]
async fn lists_of_no_project_take_no_filter_and_a_project_changes_nothing() {
    let app = TestApp::spawn().await;
    let ops = app.project_id("ops");
    let alice = app.user("alice").await;
    for path in [
        "compute.flavors.getAll",
        "compute.availabilityZones.getAll",
        "volumes.types.getAll",
        "compute.keypairs.getAll",
    ] {
        let plain = alice.query(path, None).await;
        let named = in_project(&alice, path, &ops).await;
        assert_eq!(named.data(), plain.data(), "{path}");
    }
}
