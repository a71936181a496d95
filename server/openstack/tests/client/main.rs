//! The client against a fake cloud that serves the OpenStack projects' published API samples at
//! the real paths, through Keystone auth and the service catalog: one test per response sample,
//! then the failure handling (re-authentication, retries, time-outs, bad bodies).

mod support;

mod bindings;
mod block_storage;
mod compute;
mod identity;
mod images;
mod networking;
mod resilience;
