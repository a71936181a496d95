//! The adversarial suite: one module per class of attack, one test per attack, each performed
//! against a real server over the real simulator and named after what it tries.
//!
//! - `upstream_paths`: user input shaping an upstream URL (path traversal, encoded separators,
//!   queries and fragments in ids), lookups with the service's credentials on ids the user
//!   chose, "not yours" told apart from "does not exist", and publishing images to every tenant.

mod upstream_paths;
