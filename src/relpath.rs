//! Paths relative to a scanned root, with `/` separators.

/// Joins `rel` onto folder `base` (both root-relative, `/`-separated) and
/// normalises `.` and `..`. None when the result leaves the root.
pub fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        return None;
    } else {
        base.split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect()
    };
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

pub fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(
            join("", "./apps/a/Dockerfile").as_deref(),
            Some("apps/a/Dockerfile")
        );
        assert_eq!(join("deploy", "../apps/a").as_deref(), Some("apps/a"));
        assert_eq!(join("", "../x"), None);
        assert_eq!(join("a/b", ".").as_deref(), Some("a/b"));
    }
}
