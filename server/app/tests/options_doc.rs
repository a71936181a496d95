//! `docs/options.md` is the reference of `tidings serve`'s options: this test holds it to the
//! command line itself (the same definitions `tidings serve --help` prints), so that a flag, its
//! `TIDINGS_*` twin or its default cannot change without the page.

use std::collections::BTreeMap;

use clap::CommandFactory;
use tidings::config::Cli;

/// One row of the page's table: variable and default cells, by flag.
fn documented() -> BTreeMap<String, (String, String)> {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/options.md"
    ))
    .expect("docs/options.md");
    page.lines()
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
    let cli = Cli::command();
    let serve = cli.find_subcommand("serve").expect("serve subcommand");
    let mut rows = documented();
    let mut problems = Vec::new();
    for arg in serve.get_arguments() {
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
        "docs/options.md drifted:\n{}",
        problems.join("\n")
    );
}
