//! Man pages, generated from the same clap `Command` as the CLI (so they
//! cannot drift from `--help`): `prodsafe man` prints `prodsafe(1)`;
//! `prodsafe man --dir DIR` writes it and one page per subcommand
//! (`prodsafe-check.1`, `prodsafe-fix.1`, ...), which `prodsafe(1)` refers to.

use std::path::{Path, PathBuf};

fn versioned(cmd: clap::Command) -> clap::Command {
    cmd.version(env!("CARGO_PKG_VERSION"))
}

/// The roff text of `prodsafe(1)`.
pub fn main_page(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(versioned(cmd)).render(&mut buf)?;
    Ok(buf)
}

/// Writes every page into `dir`; returns the files written.
pub fn write_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let cmd = versioned(cmd);
    let mut out = vec![dir.join("prodsafe.1")];
    std::fs::write(&out[0], main_page(cmd.clone())?)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("prodsafe-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .version(env!("CARGO_PKG_VERSION"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page).render(&mut buf)?;
        let file = dir.join(format!("{name}.1"));
        std::fs::write(&file, buf)?;
        out.push(file);
    }
    Ok(out)
}
