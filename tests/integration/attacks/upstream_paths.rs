//! User input never shapes an upstream URL: ids that try to walk out of their path segment
//! (`..`, `%2e%2e`, `\`, `/`, `%2F`), to add a query or a fragment, or that are not ids at all
//! are refused with BAD_REQUEST before any upstream call; lookups for a user never run with the
//! service's credentials; "not yours" and "does not exist" are one NOT_FOUND; and a member
//! cannot publish an image to every tenant. Each test checks what the simulator saw.

use serde_json::{Value, json};
use tidings_sim::Stats;
use tidings_tests::{Caller, Reply, TestApp};

/// The ids of `project`'s seeded resources, read from the administrator's lists.
struct Owned {
    project: String,
    instance: String,
    volume: String,
    image: String,
    network: String,
}

impl Owned {
    async fn of(app: &TestApp, project: &str) -> Self {
        let pick = async |path: &str, wanted: fn(&Value) -> bool| {
            let listed = app.query(path, Some(json!({ "projectId": project }))).await;
            let items = listed.data().as_array().expect("a list").clone();
            let item = items.into_iter().find(wanted);
            let item = item.unwrap_or_else(|| panic!("{path}: nothing fits in {project}"));
            item["id"].as_str().expect("an id").to_owned()
        };
        Self {
            project: project.to_owned(),
            instance: pick("compute.instances.getAll", |i| i["status"] == "ACTIVE").await,
            volume: pick("volumes.getAll", |v| {
                v["name"].as_str().is_some_and(|n| n.ends_with("-scratch"))
            })
            .await,
            image: pick("images.getAll", |i| i["visibility"] == "private").await,
            network: pick("networks.getAll", |n| n["name"].as_str() != Some("public")).await,
        }
    }
}

/// A procedure taking an id that ends up in an upstream URL: where the id goes in its input.
struct Target {
    procedure: &'static str,
    query: bool,
    field: &'static str,
    /// A real id of the right kind (what attacks are built from).
    real: String,
    /// The rest of the input.
    rest: Value,
}

impl Target {
    fn input(&self, id: &str) -> Value {
        let mut input = self.rest.clone();
        input[self.field] = json!(id);
        input
    }

    async fn call(&self, caller: &Caller, id: &str) -> Reply {
        if self.query {
            caller.query(self.procedure, Some(self.input(id))).await
        } else {
            caller.mutate(self.procedure, self.input(id)).await
        }
    }
}

/// Every procedure that takes an id or a name of a resource, with `owned`'s ids.
fn targets(owned: &Owned) -> Vec<Target> {
    let target = |procedure, query, field: &'static str, real: &String, rest: Value| Target {
        procedure,
        query,
        field,
        real: real.clone(),
        rest,
    };
    let none = || json!({});
    let (instance, volume) = (&owned.instance, &owned.volume);
    vec![
        target("compute.instances.getById", true, "id", instance, none()),
        target(
            "compute.instances.getAttachments",
            true,
            "id",
            instance,
            none(),
        ),
        target("compute.instances.start", false, "id", instance, none()),
        target("compute.instances.stop", false, "id", instance, none()),
        target(
            "compute.instances.reboot",
            false,
            "id",
            instance,
            json!({ "hard": true }),
        ),
        target("compute.instances.delete", false, "id", instance, none()),
        target("volumes.getById", true, "id", volume, none()),
        target("volumes.delete", false, "id", volume, none()),
        target(
            "volumes.attach",
            false,
            "volumeId",
            volume,
            json!({ "instanceId": instance }),
        ),
        target(
            "volumes.attach",
            false,
            "instanceId",
            instance,
            json!({ "volumeId": volume }),
        ),
        target(
            "volumes.detach",
            false,
            "volumeId",
            volume,
            json!({ "instanceId": instance }),
        ),
        target(
            "volumes.detach",
            false,
            "instanceId",
            instance,
            json!({ "volumeId": volume }),
        ),
        target("images.getById", true, "id", &owned.image, none()),
        target("images.delete", false, "id", &owned.image, none()),
        target("networks.getById", true, "id", &owned.network, none()),
        target("networks.delete", false, "id", &owned.network, none()),
        target("projects.getById", true, "id", &owned.project, none()),
        target(
            "projects.getQuotas",
            true,
            "projectId",
            &owned.project,
            none(),
        ),
        target(
            "compute.limits.get",
            true,
            "projectId",
            &owned.project,
            none(),
        ),
    ]
}

/// The `METHOD /path`s the simulator's services received between two snapshots (counts that
/// grew), with those of its control API under `control`.
fn reached(before: &Stats, after: &Stats) -> Vec<String> {
    let grown = |now: &std::collections::BTreeMap<String, u64>,
                 then: &std::collections::BTreeMap<String, u64>,
                 prefix: &str| {
        now.iter()
            .filter(|(path, count)| then.get(*path).copied().unwrap_or(0) < **count)
            .map(|(path, _)| format!("{prefix}{path}"))
            .collect::<Vec<_>>()
    };
    let mut paths = grown(&after.by_path, &before.by_path, "");
    paths.extend(grown(&after.control, &before.control, "control: "));
    paths
}

/// Paths reached between two snapshots that contain `needle`.
fn reached_naming(before: &Stats, after: &Stats, needle: &str) -> Vec<String> {
    reached(before, after)
        .into_iter()
        .filter(|path| path.contains(needle))
        .collect()
}

fn assert_bad_request(reply: &Reply, what: &str, field: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", reply.body);
    assert_eq!(reply.error_code(), "BAD_REQUEST", "{what}");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("\"{field}\"")),
        "{what}: the message names the field: {message}"
    );
}

/// `..` as the ways a URL parser may read it: plain, percent-encoded, half-encoded, and with
/// backslashes, which WHATWG parsers take for slashes in http URLs.
const DOTDOT: [(&str, &str); 4] = [("..", "/"), ("%2e%2e", "/"), (".%2E", "/"), ("..", "\\")];

/// `ups` steps up, written with one of the [`DOTDOT`] spellings, then `rest`.
fn climb(ups: usize, (dots, slash): (&str, &str), rest: &str) -> String {
    let mut path = format!("{dots}{slash}").repeat(ups);
    path.push_str(&rest.replace('/', slash));
    path
}

#[tokio::test]
async fn detach_with_dotdot_volume_id_cannot_delete_another_volume() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let alice = app.user("alice").await;
    let victim = alice
        .mutate(
            "volumes.create",
            json!({ "projectId": demo.project, "name": "victim", "sizeGb": 1 }),
        )
        .await;
    let victim = victim.data()["id"].as_str().expect("an id").to_owned();
    app.sim.tick_now();
    app.sim.tick_now();
    let volumes = app.sim.counts().volumes;
    let before = app.sim.stats();
    // From `/compute/v2.1/servers/{id}/os-volume_attachments/` five steps up reach the root,
    // and from Cinder's `/volume/v3/{project}/volumes/` too: the victim's own URL.
    let id = climb(5, DOTDOT[0], &format!("volume/v3/volumes/{victim}"));
    let reply = alice
        .mutate(
            "volumes.detach",
            json!({ "volumeId": id, "instanceId": demo.instance }),
        )
        .await;
    let after = app.sim.stats();
    app.sim.tick_now();
    app.sim.tick_now();
    assert_eq!(
        app.sim.counts().volumes,
        volumes,
        "the victim is still there"
    );
    assert_eq!(
        reached_naming(&before, &after, &victim),
        Vec::<String>::new()
    );
    assert_bad_request(&reply, "detach", "volumeId");
}

/// Each service's lookup by id with `ups` steps to its endpoint's root.
fn lookups(owned: &Owned) -> Vec<(Target, usize)> {
    targets(owned)
        .into_iter()
        .filter(|t| !t.query || t.procedure.ends_with("getAttachments"))
        .map(|t| {
            let ups = match (t.procedure, t.field) {
                (p, "id") if p.starts_with("volumes") => 4,
                (_, "volumeId") => 4,
                _ => 3,
            };
            (t, ups)
        })
        .collect()
}

#[tokio::test]
async fn lookup_id_cannot_reach_identity_users() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let alice = app.user("alice").await;
    for (target, ups) in lookups(&demo) {
        for dotdot in DOTDOT {
            let id = climb(ups, dotdot, "identity/v3/users");
            let before = app.sim.stats();
            let reply = target.call(&alice, &id).await;
            let what = format!("{} {}={id:?}", target.procedure, target.field);
            assert_bad_request(&reply, &what, target.field);
            let after = app.sim.stats();
            assert_eq!(
                reached_naming(&before, &after, "/identity/v3/users"),
                Vec::<String>::new(),
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn lookup_id_cannot_reach_hypervisors() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let alice = app.user("alice").await;
    let nova = lookups(&demo)
        .into_iter()
        .filter(|(t, _)| t.procedure.starts_with("compute") || t.field == "instanceId");
    for (target, _) in nova {
        let before = app.sim.stats();
        let reply = target.call(&alice, "../os-hypervisors/detail").await;
        assert_bad_request(&reply, target.procedure, target.field);
        let after = app.sim.stats();
        assert_eq!(
            reached_naming(&before, &after, "os-hypervisors"),
            Vec::<String>::new(),
            "{}",
            target.procedure
        );
    }
}

#[tokio::test]
async fn lookup_id_cannot_read_another_projects_quotas() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let ops = app.project_id("ops");
    let alice = app.user("alice").await;
    let cinder = lookups(&demo)
        .into_iter()
        .filter(|(t, _)| t.procedure == "volumes.delete" || t.field == "volumeId");
    for (target, _) in cinder {
        let before = app.sim.stats();
        let reply = target
            .call(&alice, &format!("../os-quota-sets/{ops}"))
            .await;
        assert_bad_request(&reply, target.procedure, target.field);
        let after = app.sim.stats();
        assert_eq!(
            reached_naming(&before, &after, "os-quota-sets"),
            Vec::<String>::new(),
            "{}",
            target.procedure
        );
    }
    let before = app.sim.stats();
    let id = climb(
        4,
        DOTDOT[0],
        &format!("identity/v3/users/../../../volume/v3/os-quota-sets/{ops}"),
    );
    let reply = app
        .query("projects.getQuotas", Some(json!({ "projectId": id })))
        .await;
    assert_bad_request(&reply, "getQuotas as admin", "projectId");
    let after = app.sim.stats();
    assert_eq!(reached_naming(&before, &after, &ops), Vec::<String>::new());
}

#[tokio::test]
async fn lookup_id_cannot_reach_the_simulators_fault_api() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let alice = app.user("alice").await;
    for (target, ups) in lookups(&demo) {
        let before = app.sim.stats();
        let reply = target
            .call(&alice, &climb(ups, DOTDOT[0], "_sim/faults"))
            .await;
        assert_bad_request(&reply, target.procedure, target.field);
        let after = app.sim.stats();
        assert_eq!(
            reached_naming(&before, &after, "/_sim"),
            Vec::<String>::new(),
            "{}",
            target.procedure
        );
    }
}

/// What an id may not be: each of these tries to end its path segment, add a query or a
/// fragment, hide a separator, or is no id at all.
fn malformed(real: &str) -> Vec<String> {
    vec![
        String::new(),
        ".".into(),
        "..".into(),
        "%2e%2e".into(),
        format!("{real}/action"),
        format!("{real}%2F..%2F.."),
        format!("..%2F{real}"),
        format!("{real}?all_tenants=1"),
        format!("{real}#fragment"),
        format!("{real}\\.."),
        format!(" {real}"),
        format!("{real} "),
        format!("{real}\t"),
        format!("{real}\n"),
        format!("{real}\u{0}"),
        format!("{real}\u{FF0F}.."),
        format!("é{real}"),
        format!("{real}%00"),
        real.repeat(300),
    ]
}

#[tokio::test]
async fn encoded_slash_and_query_in_ids_are_refused() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let alice = app.user("alice").await;
    for caller in [app.admin(), alice] {
        for target in targets(&demo) {
            for id in malformed(&target.real) {
                let before = app.sim.stats();
                let reply = target.call(&caller, &id).await;
                let what = format!("{} {}={id:?}", target.procedure, target.field);
                assert_bad_request(&reply, &what, target.field);
                let after = app.sim.stats();
                assert_eq!(
                    reached_naming(&before, &after, &target.real),
                    Vec::<String>::new(),
                    "{what}"
                );
            }
        }
    }
}

#[tokio::test]
async fn create_with_malformed_ids_is_refused_before_any_upstream_call() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let alice = app.user("alice").await;
    let boot = |field: &str, value: &str| {
        let mut input = json!({
            "projectId": demo.project,
            "name": "probe",
            "flavorId": "1",
            "imageId": demo.image,
            "networkId": demo.network,
        });
        input[field] = json!(value);
        input
    };
    let cases = [
        ("imageId", "../../../identity/v3/users".to_owned()),
        ("imageId", format!("{}?x", demo.image)),
        ("networkId", format!("{}/..", demo.network)),
        ("flavorId", "1\u{0}".to_owned()),
        ("keyName", "k\ney".to_owned()),
        ("projectId", format!("{}/../x", demo.project)),
    ];
    for (field, value) in cases {
        let before = app.sim.stats();
        let reply = alice
            .mutate("compute.instances.create", boot(field, &value))
            .await;
        assert_bad_request(&reply, &format!("{field}={value:?}"), field);
        let after = app.sim.stats();
        assert_eq!(
            reached_naming(&before, &after, "POST /compute"),
            Vec::<String>::new(),
            "{field}"
        );
    }
    let creates = [
        ("volumes.create", json!({ "name": "v", "sizeGb": 1 })),
        ("networks.create", json!({ "name": "n" })),
        (
            "images.create",
            json!({ "name": "i", "diskFormat": "qcow2", "containerFormat": "bare" }),
        ),
    ];
    for (procedure, mut input) in creates {
        input["projectId"] = json!("../../../identity/v3/users");
        let before = app.sim.stats();
        let reply = app.mutate(procedure, input).await;
        assert_bad_request(&reply, procedure, "projectId");
        let after = app.sim.stats();
        let posts: Vec<String> = reached(&before, &after)
            .into_iter()
            .filter(|p| p.starts_with("POST") && !p.ends_with("/auth/tokens"))
            .collect();
        assert_eq!(posts, Vec::<String>::new(), "{procedure}");
    }
}

/// A NOT_FOUND's message with the id looked for taken out.
fn not_found_message(reply: &Reply, id: &str) -> String {
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.error_code(), "NOT_FOUND");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    message.replace(id, "<id>")
}

#[tokio::test]
async fn another_projects_volume_and_a_missing_one_answer_the_same_not_found() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let ops = Owned::of(&app, &app.project_id("ops")).await;
    let alice = app.user("alice").await;
    let missing = "0d5c7f0e-3c1a-4e59-9d0b-5e8f6a7b8c9d";
    for (mine, theirs) in targets(&demo).into_iter().zip(targets(&ops)) {
        if mine.field == "projectId" {
            continue;
        }
        let before = app.sim.stats();
        let not_mine = mine.call(&alice, &theirs.real).await;
        let absent = mine.call(&alice, missing).await;
        let what = format!("{} {}", mine.procedure, mine.field);
        assert_eq!(
            not_found_message(&not_mine, &theirs.real),
            not_found_message(&absent, missing),
            "{what}"
        );
        let after = app.sim.stats();
        assert_eq!(
            reached_naming(&before, &after, &theirs.real),
            Vec::<String>::new(),
            "{what}: another project's resource is not looked up upstream"
        );
        assert_eq!(
            reached_naming(&before, &after, missing),
            Vec::<String>::new(),
            "{what}: a missing resource is not looked up upstream"
        );
    }
}

#[tokio::test]
async fn project_traversal_cannot_tell_existing_from_missing_projects() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let ops = app.project_id("ops");
    let missing = "0123456789abcdef0123456789abcdef";
    let alice = app.user("alice").await;
    for (target, ups) in lookups(&demo) {
        let probe =
            |project: &str| climb(ups, DOTDOT[0], &format!("identity/v3/projects/{project}"));
        let before = app.sim.stats();
        let existing = target.call(&alice, &probe(&ops)).await;
        let absent = target.call(&alice, &probe(missing)).await;
        assert_bad_request(&existing, target.procedure, target.field);
        assert_eq!(
            (existing.status, existing.error_code().to_owned()),
            (absent.status, absent.error_code().to_owned()),
            "{}",
            target.procedure
        );
        let after = app.sim.stats();
        assert_eq!(
            reached_naming(&before, &after, "/identity/v3/projects/"),
            Vec::<String>::new(),
            "{}",
            target.procedure
        );
    }
}

#[tokio::test]
async fn another_projects_instance_attachments_are_not_looked_up_with_service_credentials() {
    let app = TestApp::spawn().await;
    let demo = Owned::of(&app, &app.project_id("demo")).await;
    let ops = Owned::of(&app, &app.project_id("ops")).await;
    let alice = app.user("alice").await;
    let before = app.sim.stats();
    let theirs = alice
        .query(
            "compute.instances.getAttachments",
            Some(json!({ "id": ops.instance })),
        )
        .await;
    not_found_message(&theirs, &ops.instance);
    let after = app.sim.stats();
    assert_eq!(
        reached_naming(&before, &after, &ops.instance),
        Vec::<String>::new()
    );
    let mine = alice
        .query(
            "compute.instances.getAttachments",
            Some(json!({ "id": demo.instance })),
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
}

#[tokio::test]
async fn member_cannot_publish_community_image() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let demo = app.project_id("demo");
    for visibility in ["community", "public"] {
        let before = app.sim.stats();
        let reply = alice
            .mutate(
                "images.create",
                json!({
                    "projectId": demo,
                    "name": "everyone-gets-this",
                    "diskFormat": "qcow2",
                    "containerFormat": "bare",
                    "visibility": visibility,
                }),
            )
            .await;
        assert_eq!(reply.status, 403, "{visibility}: {}", reply.body);
        assert_eq!(reply.error_code(), "FORBIDDEN");
        let after = app.sim.stats();
        assert_eq!(
            reached_naming(&before, &after, "POST /image"),
            Vec::<String>::new(),
            "{visibility}"
        );
    }
    let shared = alice
        .mutate(
            "images.create",
            json!({
                "projectId": demo,
                "name": "ours",
                "diskFormat": "qcow2",
                "containerFormat": "bare",
                "visibility": "shared",
            }),
        )
        .await;
    assert_eq!(shared.status, 200, "{}", shared.body);
}
