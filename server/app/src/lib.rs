//! Tidings, the backend-for-frontend.
