//! Glance: listing with `next` links, show, create and JSON-patch update.

use axum::http::Method;
use tidings_openstack::{CreateImage, UpdateImage};

use crate::support::{FakeCloud, Reply, fixture, glance};

#[tokio::test]
async fn images_list_parses_sizes_and_null_virtual_size() {
    let cloud = FakeCloud::start().await;
    cloud.get(&glance("/v2/images"), "glance/images-list-response.json");
    let images = cloud.client().list_images().await.unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0].name.as_deref(), Some("cirros-0.3.2-x86_64-disk"));
    assert_eq!(images[0].size_bytes, Some(13_167_616));
    assert_eq!(images[0].virtual_size_bytes, None);
    assert_eq!(images[0].visibility, "public");
    assert_eq!(images[0].disk_format.as_deref(), Some("qcow2"));
    assert_eq!(images[1].size_bytes, Some(476_704_768));
}

#[tokio::test]
async fn images_list_follows_next_links() {
    let cloud = FakeCloud::start().await;
    let mut first: serde_json::Value =
        serde_json::from_str(&fixture("glance/images-list-response.json")).unwrap();
    first["next"] = "/v2/images?marker=781b3762-9469-4cec-b58d-3349e5de4e9c".into();
    let second = r#"{"images": [{"id": "third", "status": "active", "visibility": "private",
        "created_at": "2014-11-07T17:07:06Z", "size": 9007199254740993}], "first": "/v2/images"}"#;
    cloud.on(
        Method::GET,
        &glance("/v2/images"),
        Reply::ok(first.to_string()),
    );
    cloud.on(Method::GET, &glance("/v2/images"), Reply::ok(second));
    let images = cloud.client().list_images().await.unwrap();
    assert_eq!(images.len(), 3);
    assert_eq!(images[2].id, "third");
    assert_eq!(images[2].size_bytes, Some(9_007_199_254_740_993));
    let requests = cloud.requests();
    assert_eq!(
        requests[1].query.as_deref(),
        Some("marker=781b3762-9469-4cec-b58d-3349e5de4e9c")
    );
}

/// Glance's default listing leaves out community images (but the caller's own) and every
/// hidden image; the list asks for all visibilities, and for hidden images apart, since
/// `os_hidden=true` lists only them.
#[tokio::test]
async fn images_list_asks_for_every_visibility_and_for_hidden_images() {
    let cloud = FakeCloud::start().await;
    let shown = fixture("glance/images-list-response.json");
    let hidden = r#"{"images": [{"id": "hidden-one", "status": "active", "visibility":
        "community", "os_hidden": true, "created_at": "2014-11-07T17:07:06Z"},
        {"id": "1bea47ed-f6a9-463b-b423-14b9cca9ad27", "status": "active",
        "visibility": "public", "created_at": "2014-11-07T17:07:06Z"}], "first": "/v2/images"}"#;
    cloud.on(Method::GET, &glance("/v2/images"), Reply::ok(shown));
    cloud.on(Method::GET, &glance("/v2/images"), Reply::ok(hidden));
    let images = cloud.client().list_images().await.unwrap();
    let ids: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "1bea47ed-f6a9-463b-b423-14b9cca9ad27",
            "781b3762-9469-4cec-b58d-3349e5de4e9c",
            "hidden-one"
        ],
        "the hidden page adds its images once"
    );
    assert!(images[2].hidden && images[2].visibility == "community");
    let queries: Vec<Option<String>> = cloud.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        [
            Some("visibility=all&os_hidden=false".to_owned()),
            Some("visibility=all&os_hidden=true".to_owned())
        ]
    );
}

#[tokio::test]
async fn image_show_parses() {
    let cloud = FakeCloud::start().await;
    let id = "1bea47ed-f6a9-463b-b423-14b9cca9ad27";
    cloud.get(
        &glance(&format!("/v2/images/{id}")),
        "glance/image-show-response.json",
    );
    let image = cloud.client().get_image(id).await.unwrap();
    assert_eq!(image.id, id);
    assert_eq!(image.status, "active");
    assert_eq!(image.container_format.as_deref(), Some("bare"));
    assert_eq!(
        image.owner.as_deref(),
        Some("5ef70662f8b34079a6eddb8da9d75fe8")
    );
    assert_eq!(image.size_bytes, Some(13_167_616));
    assert!(!image.protected && !image.hidden);
}

#[tokio::test]
async fn image_create_has_null_size_and_checksum() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::POST,
        &glance("/v2/images"),
        Reply::status(201, fixture("glance/image-create-response.json")),
    );
    let request = CreateImage {
        name: "Ubuntu".to_owned(),
        disk_format: "raw".to_owned(),
        container_format: "bare".to_owned(),
        visibility: Some("private".to_owned()),
        min_disk_gb: None,
        min_ram_mb: None,
        tags: Vec::new(),
    };
    let image = cloud
        .client()
        .create_image(Some("p1"), request)
        .await
        .unwrap();
    assert_eq!(image.status, "queued");
    assert_eq!(image.size_bytes, None);
    assert_eq!(image.checksum, None);
    assert_eq!(image.visibility, "private");
    let body = cloud.requests()[0].json();
    assert_eq!(body["disk_format"], "raw");
    assert_eq!(body["visibility"], "private");
    assert_eq!(
        cloud.auth_requests()[0].json()["auth"]["scope"]["project"]["id"],
        "p1"
    );
}

#[tokio::test]
async fn image_update_sends_a_json_patch() {
    let cloud = FakeCloud::start().await;
    let id = "2b61ed2b-f800-4da0-99ff-396b742b8646";
    cloud.on(
        Method::PATCH,
        &glance(&format!("/v2/images/{id}")),
        Reply::ok(fixture("glance/image-update-response.json")),
    );
    let update = UpdateImage {
        name: Some("Fedora 17".to_owned()),
        tags: Some(vec!["fedora".to_owned(), "beefy".to_owned()]),
        visibility: None,
    };
    let image = cloud.client().update_image(id, update).await.unwrap();
    assert_eq!(image.name.as_deref(), Some("Fedora 17"));
    assert_eq!(image.tags, ["beefy", "fedora"]);
    assert_eq!(image.min_disk_gb, 20);
    assert_eq!(image.min_ram_mb, 512);
    let request = &cloud.requests()[0];
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/openstack-images-v2.1-json-patch")
    );
    let expected: serde_json::Value =
        serde_json::from_str(&fixture("glance/image-update-request.json")).unwrap();
    assert_eq!(request.json(), expected);
}

#[tokio::test]
async fn delete_image_sends_delete() {
    let cloud = FakeCloud::start().await;
    cloud.on(
        Method::DELETE,
        &glance("/v2/images/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
        Reply::status(204, ""),
    );
    cloud
        .client()
        .delete_image("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
        .await
        .unwrap();
    assert_eq!(
        cloud.requests()[0].path,
        "/image/v2/images/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    );
}
