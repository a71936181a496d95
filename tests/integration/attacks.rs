//! A catalogue of attacks, each performed against a real server on port 0 and failing if the
//! attack works; one file per class of attack.

mod connections;
