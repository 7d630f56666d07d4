//! A scanned root: the model of its files ([`model`]) and the graph built
//! on it (compose service -> Dockerfile -> entrypoint -> app). The graph
//! reads the model, never this wrapper, so `graph` and `project` do not
//! import each other.

use std::ops::{Deref, DerefMut};
use std::path::Path;

use crate::config::Config;
use crate::graph::Graph;
use crate::templates::Templates;

pub mod model;
pub mod service_env;

pub use model::{is_secret_env, join, parent, Model};

#[derive(Debug)]
pub struct Project {
    pub model: Model,
    pub graph: Graph,
    /// What each graph service's container gets (indexed like `graph.services`).
    pub service_env: Vec<crate::env::ServiceEnv>,
}

impl Project {
    pub fn load(root: &Path, config: Config, templates: Templates) -> Project {
        let mut model = Model::load(root, config, templates);
        let graph = Graph::build(&model);
        for img in &graph.images {
            let found: Vec<String> = [".git", "node_modules"]
                .iter()
                .filter(|n| root.join(&img.context).join(n).symlink_metadata().is_ok())
                .map(|n| n.to_string())
                .collect();
            model.context_sensitive.insert(img.context.clone(), found);
        }
        let service_env = service_env::resolve_services(&model, &graph);
        Project {
            model,
            graph,
            service_env,
        }
    }
}

impl Deref for Project {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.model
    }
}

impl DerefMut for Project {
    fn deref_mut(&mut self) -> &mut Model {
        &mut self.model
    }
}
