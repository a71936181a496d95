//! A catalogue of attacks against a real server on port 0, one file per class, one test per
//! attack.

mod connections;
mod credentials;
mod login_throttle;
mod origins;
mod upstream_paths;
