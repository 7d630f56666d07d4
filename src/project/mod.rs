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
    /// Fixes several rules share, computed once per image: the Prisma
    /// client moved to build time (DKR002, ENT004, ENT003, DKR001), keyed by
    /// the addresses of the image node and its stage (stable while the
    /// rules run; cleared with the graph).
    pub shared_fixes: std::sync::Mutex<
        std::collections::HashMap<(usize, usize), Result<crate::finding::Fix, String>>,
    >,
}

impl Project {
    /// Frees the parsed models and the graph once the rules have run: what
    /// is printed afterwards (frames, positions, paths) needs only the files.
    /// `check` keeps every repository until it prints, so this bounds its
    /// memory by the files rather than by their models.
    pub fn release_models(&mut self) {
        let m = &mut self.model;
        m.compose = Vec::new();
        m.dockerfiles = Vec::new();
        m.apps = Vec::new();
        m.scripts = Vec::new();
        m.prisma = Vec::new();
        m.workflows = Vec::new();
        m.nginx = Vec::new();
        m.package_jsons = Vec::new();
        m.gitignores = Vec::new();
        m.workspace = Default::default();
        self.graph = Graph::default();
        self.service_env = Vec::new();
        self.shared_fixes = Default::default();
    }

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
            shared_fixes: Default::default(),
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
