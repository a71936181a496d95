//! Tidings, the backend-for-frontend.

pub mod updates;
