//! A value prodsafe inferred, with where it came from (shared by the
//! graph and the environment facts, below both).

#[derive(Debug, Clone, PartialEq)]
pub struct Inferred<T> {
    pub value: T,
    /// Where it came from, e.g. `compose ports (docker-compose.yml:12)`.
    pub source: String,
}
