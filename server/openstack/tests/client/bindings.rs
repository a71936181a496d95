//! The models export to TypeScript (no BigInt anywhere) and serialize in camelCase with a
//! stable field order.

use specta::Types;
use tidings_openstack::model::*;
use tidings_openstack::{CreateImage, CreateInstance, CreateVolume, UpdateImage};

fn all_types() -> Types {
    Types::default()
        .register::<Project>()
        .register::<Role>()
        .register::<RoleAssignment>()
        .register::<Session>()
        .register::<CatalogEntry>()
        .register::<Instance>()
        .register::<Flavor>()
        .register::<Keypair>()
        .register::<ComputeLimits>()
        .register::<AvailabilityZone>()
        .register::<ServerGroup>()
        .register::<VolumeAttachment>()
        .register::<Hypervisor>()
        .register::<Volume>()
        .register::<VolumeSnapshot>()
        .register::<VolumeType>()
        .register::<VolumeBackup>()
        .register::<VolumeQuota>()
        .register::<Image>()
        .register::<Network>()
        .register::<Subnet>()
        .register::<Port>()
        .register::<Router>()
        .register::<FloatingIp>()
        .register::<SecurityGroup>()
        .register::<ResourceRef>()
        .register::<ApiVersion>()
        .register::<CreateInstance>()
        .register::<CreateVolume>()
        .register::<CreateImage>()
        .register::<UpdateImage>()
}

#[test]
fn every_model_exports_to_typescript() {
    let ts = specta_typescript::Typescript::default()
        .export(&all_types(), specta_serde::Format)
        .expect("export must not hit BigInt or other unsupported types");
    assert!(ts.contains("sizeBytes: number | null"), "{ts}");
    assert!(ts.contains("attachedVolumeIds: string[]"), "{ts}");
    assert!(ts.contains("type: string | null"), "{ts}");
    assert!(!ts.contains("bigint"));
}

#[test]
fn serialization_is_camel_case_in_declaration_order() {
    let image = Image {
        id: "i".to_owned(),
        name: None,
        status: "active".to_owned(),
        visibility: "public".to_owned(),
        disk_format: None,
        container_format: None,
        owner: None,
        size_bytes: Some(1 << 40),
        virtual_size_bytes: None,
        min_disk_gb: 0,
        min_ram_mb: 0,
        protected: false,
        hidden: false,
        checksum: None,
        tags: vec![],
        created_at: "2014-11-07T17:07:06Z".to_owned(),
        updated_at: None,
    };
    let json = serde_json::to_string(&image).unwrap();
    assert!(json.starts_with(r#"{"id":"i","name":null,"status":"active","visibility":"public""#));
    assert!(json.contains(r#""sizeBytes":1099511627776"#));
    let back: Image = serde_json::from_str(&json).unwrap();
    assert_eq!(back, image);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}
