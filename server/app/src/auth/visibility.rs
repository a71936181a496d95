//! What a caller may see: every project (a cloud administrator) or a set of projects. Used by
//! sessions, filtered lists and the update bus alike, and depends on none of them.

use std::collections::HashSet;
use std::sync::Arc;

/// Which projects' data a session may see.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Everything: a cloud administrator.
    All,
    /// These projects (by id), plus what belongs to no project.
    Projects(Arc<ProjectSet>),
}

impl Visibility {
    /// Whether something scoped to `project` (`None`: global) may be seen.
    pub fn sees(&self, project: Option<&str>) -> bool {
        match (self, project) {
            (Visibility::All, _) | (_, None) => true,
            (Visibility::Projects(mine), Some(project)) => mine.ids.contains(project),
        }
    }

    /// Equal for sessions that see the same things (0 for everything), so that they can share
    /// filtered answers.
    pub fn key(&self) -> u64 {
        match self {
            Visibility::All => 0,
            Visibility::Projects(set) => set.key,
        }
    }
}

/// A set of project ids with a fingerprint of its members.
#[derive(Debug)]
pub struct ProjectSet {
    ids: HashSet<String>,
    key: u64,
}

impl ProjectSet {
    /// The set of `ids`.
    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        let ids: HashSet<String> = ids.into_iter().collect();
        let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        // Never 0, which stands for "everything".
        let key = xxhash_rust::xxh3::xxh3_64(sorted.join(",").as_bytes()) | 1;
        Self { ids, key }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_of_global_and_scoped_things() {
        let mine = Visibility::Projects(Arc::new(ProjectSet::new(["p1".to_owned()])));
        assert!(mine.sees(None));
        assert!(mine.sees(Some("p1")));
        assert!(!mine.sees(Some("p2")));
        assert!(Visibility::All.sees(Some("p2")));
        let same = ProjectSet::new(["b".to_owned(), "a".to_owned()]);
        let other = ProjectSet::new(["a".to_owned()]);
        assert_eq!(
            same.key,
            ProjectSet::new(["a".to_owned(), "b".to_owned()]).key
        );
        assert_ne!(same.key, other.key);
        assert_ne!(Visibility::All.key(), mine.key());
    }
}
