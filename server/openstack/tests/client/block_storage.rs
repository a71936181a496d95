//! Cinder: volumes, snapshots, types, backups, quotas, limits and the version document.

use axum::http::Method;
use tidings_openstack::{CreateVolume, Service};

use crate::support::{FakeCloud, Reply, cinder, fixture};

async fn list_volumes(sample: &str) -> Vec<tidings_openstack::model::Volume> {
    let cloud = FakeCloud::start().await;
    cloud.get(&cinder("/volumes/detail"), sample);
    let volumes = cloud.client().list_volumes().await.unwrap();
    assert_eq!(cloud.requests()[0].query.as_deref(), Some("all_tenants=1"));
    volumes
}

#[tokio::test]
async fn volumes_detail_has_string_bootable_and_null_names() {
    let volumes = list_volumes("cinder/volumes/volumes-list-detailed-response.json").await;
    let volume = &volumes[0];
    assert_eq!(volume.id, "cb49b381-9012-40cb-b8ee-80c19a4801b5");
    assert_eq!(volume.name, None);
    assert_eq!(volume.description, None);
    assert!(!volume.bootable);
    assert_eq!(volume.size_gb, 10);
    assert_eq!(volume.status, "creating");
    assert_eq!(volume.volume_type.as_deref(), Some("__DEFAULT__"));
    assert_eq!(
        volume.project_id.as_deref(),
        Some("89afd400-b646-4bbc-b12b-c0a4d63e5bd3")
    );
    assert!(volume.attachments.is_empty());
}

#[tokio::test]
async fn volumes_detail_at_3_65_parse() {
    let volumes = list_volumes("cinder/volumes/v3.65/volumes-list-detailed-response.json").await;
    assert_eq!(volumes[0].availability_zone.as_deref(), Some("nova"));
    assert!(!volumes[0].multiattach && !volumes[0].encrypted);
}

#[tokio::test]
async fn volumes_detail_at_3_69_parse() {
    let volumes = list_volumes("cinder/volumes/v3.69/volumes-list-detailed-response.json").await;
    assert_eq!(volumes[0].created_at, "2018-11-28T06:25:15.288987");
    assert_eq!(volumes[0].updated_at, None);
}

async fn show_volume(sample: &str) -> tidings_openstack::model::Volume {
    let cloud = FakeCloud::start().await;
    let id = "f7223234-1afc-4d19-bfa3-d19deb6235ef";
    cloud.get(&cinder(&format!("/volumes/{id}")), sample);
    cloud.client().get_volume(id).await.unwrap()
}

#[tokio::test]
async fn volume_show_parses() {
    let volume = show_volume("cinder/volumes/volume-show-response.json").await;
    assert_eq!(volume.id, "f7223234-1afc-4d19-bfa3-d19deb6235ef");
    assert_eq!(
        volume.user_id.as_deref(),
        Some("c853ca26-e8ea-4797-8a52-ee124a013d0e")
    );
}

#[tokio::test]
async fn volume_show_at_3_65_parses() {
    let volume = show_volume("cinder/volumes/v3.65/volume-show-response.json").await;
    assert_eq!(volume.size_gb, 10);
    assert!(!volume.bootable);
}

#[tokio::test]
async fn volume_show_at_3_69_parses() {
    let volume = show_volume("cinder/volumes/v3.69/volume-show-response.json").await;
    assert_eq!(volume.status, "creating");
}

#[tokio::test]
async fn create_volume_runs_in_the_project_and_fills_the_owner() {
    let cloud = FakeCloud::start().await;
    let project = "89afd400-b646-4bbc-b12b-c0a4d63e5bd3";
    cloud.on(
        Method::POST,
        &format!("/volume/v3/{project}/volumes"),
        Reply::status(202, fixture("cinder/volumes/volume-create-response.json")),
    );
    let request = CreateVolume {
        name: "data".to_owned(),
        size_gb: 10,
        description: None,
        volume_type: Some("__DEFAULT__".to_owned()),
    };
    let volume = cloud
        .client()
        .create_volume(project, request)
        .await
        .unwrap();
    assert_eq!(volume.id, "2b955850-f177-45f7-9f49-ecb2c256d161");
    assert_eq!(volume.project_id.as_deref(), Some(project));
    assert_eq!(volume.status, "creating");
    let body = cloud.requests()[0].json();
    assert_eq!(body["volume"]["size"], 10);
    assert_eq!(body["volume"]["name"], "data");
    assert_eq!(body["volume"]["volume_type"], "__DEFAULT__");
    assert!(body["volume"].get("description").is_none());
    assert_eq!(
        cloud.auth_requests()[0].json()["auth"]["scope"]["project"]["id"],
        project
    );
}

#[tokio::test]
async fn delete_volume_sends_delete() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::DELETE,
        &cinder("/volumes/0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c"),
        Reply::status(202, ""),
    );
    cloud
        .client()
        .delete_volume("0c3f2b1a-7d6e-4f5a-8b9c-1d2e3f4a5b6c")
        .await
        .unwrap();
    assert_eq!(cloud.requests()[0].method, Method::DELETE);
}

#[tokio::test]
async fn volumes_list_gives_refs() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &cinder("/volumes"),
        "cinder/volumes/volumes-list-response.json",
    );
    let refs = cloud.client().list_volume_refs().await.unwrap();
    assert_eq!(refs[0].id, "efa54464-8fab-47cd-a05a-be3e6b396188");
    assert_eq!(refs[0].name, None);
}

#[tokio::test]
async fn snapshots_detail_parses() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &cinder("/snapshots/detail"),
        "cinder/snapshots/snapshots-list-detailed-response.json",
    );
    let snapshots = cloud.client().list_snapshots().await.unwrap();
    let snapshot = &snapshots[0];
    assert_eq!(snapshot.name.as_deref(), Some("snap-001"));
    assert_eq!(snapshot.volume_id, "7acd675e-4e06-4653-af9f-2ecd546342d6");
    assert_eq!(snapshot.progress.as_deref(), Some("0%"));
    assert_eq!(
        snapshot.project_id.as_deref(),
        Some("89afd400-b646-4bbc-b12b-c0a4d63e5bd3")
    );
    assert_eq!(snapshot.metadata["key"], "v3");
}

#[tokio::test]
async fn volume_types_parse() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &cinder("/types"),
        "cinder/volume_type/volume-types-list-response.json",
    );
    let types = cloud.client().list_volume_types().await.unwrap();
    assert_eq!(types.len(), 3);
    assert_eq!(types[0].name, "vol-type-002");
    assert_eq!(types[0].extra_specs["capabilities"], "gpu");
    assert_eq!(types[2].name, "__DEFAULT__");
    assert!(types[2].is_public);
}

#[tokio::test]
async fn backups_detail_parses() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &cinder("/backups/detail"),
        "cinder/backups/backups-list-detailed-response.json",
    );
    let backups = cloud.client().list_backups().await.unwrap();
    let backup = &backups[0];
    assert_eq!(backup.name.as_deref(), Some("backup001"));
    assert_eq!(backup.size_gb, 10);
    assert_eq!(backup.volume_id, "9fc31617-303d-4b52-826e-b598cca40419");
    assert!(!backup.is_incremental);
    assert_eq!(backup.availability_zone, None);
}

#[tokio::test]
async fn limits_map_to_volume_quotas() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &cinder("/limits"),
        "cinder/limits/limits-show-response.json",
    );
    let quota = cloud.client().volume_limits().await.unwrap();
    assert_eq!(quota.volumes.limit, Some(10));
    assert_eq!(quota.volumes.in_use, Some(0));
    assert_eq!(quota.gigabytes.limit, Some(1000));
    assert_eq!(quota.backup_gigabytes.limit, Some(1000));
}

#[tokio::test]
async fn quota_set_without_usage_has_limits_only() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &cinder("/os-quota-sets/fake_tenant"),
        "cinder/quota_sets/quotas-show-response.json",
    );
    let quota = cloud.client().volume_quota("fake_tenant").await.unwrap();
    assert_eq!(quota.volumes.limit, Some(10));
    assert_eq!(quota.volumes.in_use, None);
    assert_eq!(cloud.requests()[0].query.as_deref(), Some("usage=true"));
}

#[tokio::test]
async fn quota_set_with_usage_has_limits_and_usage() {
    let cloud = FakeCloud::start().await;
    cloud.get(
        &cinder("/os-quota-sets/fake_tenant"),
        "cinder/quota_sets/quotas-show-usage-response.json",
    );
    let quota = cloud.client().volume_quota("fake_tenant").await.unwrap();
    assert_eq!(quota.snapshots.limit, Some(10));
    assert_eq!(quota.snapshots.in_use, Some(0));
    assert_eq!(quota.gigabytes.limit, Some(1000));
}

#[tokio::test]
async fn volume_version_document_is_read_at_the_root() {
    let cloud = FakeCloud::start().await;
    cloud.get("/volume/", "cinder/versions/versions-response.json");
    let versions = cloud.client().api_versions(Service::Volume).await.unwrap();
    assert_eq!(versions[0].id, "v3.0");
    assert_eq!(versions[0].max_microversion.as_deref(), Some("3.71"));
}
