//! `docs/options.md` is the reference of `tidings serve`'s options and, in its section
//! [`SIM_SECTION`], of `tidings sim`'s: this test holds each to the command line itself (the
//! same definitions `--help` prints), so that a flag, its `TIDINGS_*` twin or its default
//! cannot change without the page.

use std::collections::BTreeMap;

use clap::CommandFactory;
use tidings::config::Cli;

/// The heading of the page's section on `tidings sim`; the rows above it are `serve`'s.
const SIM_SECTION: &str = "## Options of `tidings sim`";

/// One row of a subcommand's table: variable and default cells, by flag.
fn documented(subcommand: &str) -> BTreeMap<String, (String, String)> {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/options.md"
    ))
    .expect("docs/options.md");
    let (serve, sim) = page
        .split_once(SIM_SECTION)
        .expect("the page's sim section");
    let section = if subcommand == "sim" { sim } else { serve };
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .split('|')
                .map(str::trim)
                .collect();
            let flag = cells.first()?.strip_prefix("`--")?.strip_suffix('`')?;
            let variable = cells.get(1)?.trim_matches('`').to_owned();
            let default = (*cells.get(2)?).to_owned();
            Some((format!("--{flag}"), (variable, default)))
        })
        .collect()
}

#[test]
fn every_serve_option_is_documented_with_its_variable_and_default() {
    check("serve");
}

#[test]
fn every_sim_option_is_documented_with_its_variable_and_default() {
    check("sim");
}

/// Compares `tidings <subcommand>`'s flags with its rows of the page.
fn check(subcommand: &str) {
    let cli = Cli::command();
    let command = cli
        .find_subcommand(subcommand)
        .unwrap_or_else(|| panic!("{subcommand} subcommand"));
    let mut rows = documented(subcommand);
    let mut problems = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let flag = format!("--{long}");
        let Some((variable, default)) = rows.remove(&flag) else {
            problems.push(format!("{flag} is not in docs/options.md"));
            continue;
        };
        let env = arg
            .get_env()
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default();
        if variable != env {
            problems.push(format!(
                "{flag}: the page says {variable:?}, the flag reads {env:?}"
            ));
        }
        for value in arg.get_default_values() {
            let value = value.to_string_lossy();
            if !default.contains(&format!("`{value}`")) {
                problems.push(format!(
                    "{flag}: default `{value}` is not in its row ({default})"
                ));
            }
        }
    }
    problems.extend(
        rows.keys()
            .map(|flag| format!("{flag} is documented but does not exist")),
    );
    assert!(
        problems.is_empty(),
        "docs/options.md drifted from `tidings {subcommand}`:\n{}",
        problems.join("\n")
    );
}
