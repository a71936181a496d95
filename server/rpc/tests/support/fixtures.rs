//! The fixture procedures several test registries serve, as named handlers and their wire types;
//! each test registers them under its own paths, so its `registry()` still lists what it serves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use specta::Type;
use tidings_rpc::{Ctx, ErrorCode, Event, RpcError};

use crate::events::notice;

// The wire types carry `//` comments, not `///`: a doc comment becomes the `description` of
// the type's schema, and the tests check the OpenRPC document those schemas are in.

// The input of `things.getById`; `id` is which thing, and `nope` is the one not found.
#[derive(Deserialize, Type)]
pub struct ById {
    pub id: String,
}

// The input and output of `things.create`: the new thing's name.
#[derive(Deserialize, Serialize, Type)]
pub struct Created {
    pub name: String,
}

// The input of `things.count`: the first number, unless the client's last event id says where
// to go on from.
#[derive(Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CountInput {
    pub from: u64,
    pub last_event_id: Option<String>,
}

// The input of the procedures that sleep: how long, in milliseconds.
#[derive(Deserialize, Type)]
pub struct Sleep {
    pub ms: u64,
}

impl Sleep {
    /// Sleeps for `ms` milliseconds.
    pub async fn sleep(&self) {
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
    }
}

/// A test state that counts the mutations [`create`] runs.
pub trait CountsCreated {
    /// How many have run.
    fn created(&self) -> &AtomicU64;
}

/// `things.getAll`: always `["a", "b"]`.
pub async fn get_all<S>(_: Ctx<S>, _: ()) -> Result<Vec<&'static str>, RpcError> {
    Ok(vec!["a", "b"])
}

/// `things.getById`: `{ "id": id }`, or NOT_FOUND for the id `nope`.
pub async fn get_by_id<S>(_: Ctx<S>, input: ById) -> Result<Value, RpcError> {
    if input.id == "nope" {
        Err(RpcError::not_found(format!("Thing {} not found", input.id)))
    } else {
        Ok(json!({ "id": input.id }))
    }
}

/// `things.create`: counts itself in the state and returns its input.
pub async fn create<S: CountsCreated>(ctx: Ctx<S>, input: Created) -> Result<Created, RpcError> {
    ctx.state.created().fetch_add(1, Ordering::SeqCst);
    Ok(input)
}

/// `debug.crash`: panics with a message that must never reach the client.
pub async fn crash<S>(_: Ctx<S>, _: ()) -> Result<(), RpcError> {
    panic!("secret internal detail");
}

/// An echo: returns its input as it was decoded.
pub async fn echo<T, S>(_: Ctx<S>, input: T) -> Result<T, RpcError> {
    Ok(input)
}

/// The events of `things.count`: three numbers, each tracked by its own value, from `from` or
/// after the last event id (BAD_REQUEST when that is not a number).
pub fn count_events(input: CountInput) -> Result<impl Iterator<Item = Event>, RpcError> {
    let start = match input.last_event_id {
        Some(id) => {
            id.parse::<u64>()
                .map_err(|_| RpcError::bad_request("bad id"))?
                + 1
        }
        None => input.from,
    };
    Ok((start..start + 3).map(|i| notice(Some(i.to_string()), &i)))
}

/// The events of `things.fail`: one untracked `1`, then a CONFLICT error.
pub fn fail_events() -> [Event; 2] {
    [
        notice(None, &1u64),
        Event::Error(RpcError::new(ErrorCode::Conflict, "failed at 1")),
    ]
}
