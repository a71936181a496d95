//! The one table: a row per measured figure, a column per server, the Tidings ratios, the
//! target and whether it was met; printed and written as BENCHMARKS.md.

use std::fmt::Write as _;

use crate::machine::Machine;

/// Whether a row met its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Met.
    Pass,
    /// Missed.
    Miss,
    /// No target for this row.
    Info,
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario, e.g. `fan-out SSE 2,000 subs`.
    pub scenario: String,
    /// What is measured, e.g. `p99 latency`.
    pub metric: String,
    /// Tidings, bare ceiling, tRPC Node (already formatted; `—` when not measured).
    pub values: [String; 3],
    /// Tidings ÷ bare and Tidings ÷ Node (formatted; empty when meaningless).
    pub ratios: [String; 2],
    /// The target, in words.
    pub target: String,
    /// Met or missed.
    pub verdict: Verdict,
    /// What limits it, when missed (or worth saying).
    pub note: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// When (UTC, from `date`).
    pub date: String,
    /// The command that produced it.
    pub command: String,
    /// The rows in order.
    pub rows: Vec<Row>,
    /// Setup facts (payload sizes, versions) shown above the table.
    pub setup: Vec<String>,
}

/// The columns of the main table: the three servers, then the two ratios.
pub const SERVER_COLUMNS: [&str; 5] = [
    "Tidings",
    "bare",
    "tRPC Node",
    "Tidings ÷ bare",
    "Tidings ÷ Node",
];

/// The columns of the scale-out table: the three deployments, then the two ratios.
pub const SCALE_OUT_COLUMNS: [&str; 5] = [
    "2 instances, Redis bus",
    "1 instance, Redis bus",
    "1 instance, in-process bus",
    "2 ÷ 1 (Redis)",
    "2 ÷ 1 (in-process)",
];

/// Where the scale-out section of BENCHMARKS.md begins and ends (a run of that scenario alone
/// rewrites only what lies between).
pub const SCALE_OUT_BEGIN: &str = "<!-- scale-out: begin -->";
/// See [`SCALE_OUT_BEGIN`].
pub const SCALE_OUT_END: &str = "<!-- scale-out: end -->";

/// The scale-out section: a fan-out over two `tidings serve` sharing one Redis against one
/// instance, with its own header (it may come from a run of its own).
#[derive(Debug, Clone)]
pub struct ScaleOut {
    /// The header lines (machine, date, command) and setup.
    pub header: String,
    /// The rows, in [`SCALE_OUT_COLUMNS`].
    pub rows: Vec<Row>,
}

impl ScaleOut {
    /// The section, between its markers.
    pub fn markdown(&self) -> String {
        let notes = notes(&self.rows);
        format!(
            "{SCALE_OUT_BEGIN}\n## Scale-out: two instances on one Redis\n\nThe same SSE fan-out \
             with its subscribers split evenly over two `tidings serve` sharing one \
             `redis-server` (`TIDINGS_BUS`), each notice triggered on the first instance, against \
             one instance with every subscriber, on the same Redis bus and on the in-process bus. \
             All instances use one separate `tidings sim`; each configuration starts on fresh \
             processes (and a fresh Redis). Latency is from the trigger to each subscriber, over \
             every subscriber of both instances; CPU is the instances' plus Redis'. All of it shares \
             one machine, so this measures what the shared bus and a second process cost, not \
             what a second machine gains. `just bench --only cluster` rewrites only this \
             section, so its date and command are its own.\n\n{}\n{}{}\
             {SCALE_OUT_END}\n",
            self.header,
            table(&SCALE_OUT_COLUMNS, &self.rows),
            if notes.is_empty() {
                String::new()
            } else {
                format!("\n{notes}")
            },
        )
    }
}

/// Replaces the scale-out section of `existing` (a BENCHMARKS.md) with `section`, or inserts
/// it before the profiling notes (or at the end) when there is none.
pub fn splice_scale_out(existing: &str, section: &str) -> String {
    if let (Some(begin), Some(end)) = (existing.find(SCALE_OUT_BEGIN), existing.find(SCALE_OUT_END))
        && begin < end
    {
        let mut after = &existing[end + SCALE_OUT_END.len()..];
        after = after.strip_prefix('\n').unwrap_or(after);
        return format!("{}{section}{after}", &existing[..begin]);
    }
    match existing.find("## Profiling notes") {
        Some(at) => format!("{}{section}\n{}", &existing[..at], &existing[at..]),
        None => format!("{existing}\n{section}"),
    }
}

/// The scale-out section of `existing`, markers included, if it has one.
pub fn scale_out_of(existing: &str) -> Option<&str> {
    let begin = existing.find(SCALE_OUT_BEGIN)?;
    let end = existing.find(SCALE_OUT_END)? + SCALE_OUT_END.len();
    (begin < end).then(|| &existing[begin..end])
}

/// A Markdown table of `rows` under `columns` (three values, two ratios).
pub fn table(columns: &[&str; 5], rows: &[Row]) -> String {
    let mut out = format!(
        "| scenario | metric | {} | target | result |\n",
        columns.join(" | ")
    );
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n");
    for row in rows {
        let verdict = match row.verdict {
            Verdict::Pass => "pass",
            Verdict::Miss => "**miss**",
            Verdict::Info => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.scenario,
            row.metric,
            row.values[0],
            row.values[1],
            row.values[2],
            row.ratios[0],
            row.ratios[1],
            row.target,
            verdict
        );
    }
    out
}

/// The notes on missed (and remarkable) rows.
pub fn notes(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows.iter().filter(|r| r.note.is_some()) {
        let status = if row.verdict == Verdict::Miss {
            "missed"
        } else {
            "note"
        };
        let _ = writeln!(
            out,
            "- **{} — {}** ({status}): {}",
            row.scenario,
            row.metric,
            row.note.as_deref().unwrap_or_default()
        );
    }
    out
}

/// `x ÷ y` as `0.93×`, or empty when `y` is zero or either is missing.
pub fn ratio(x: Option<f64>, y: Option<f64>) -> String {
    match (x, y) {
        (Some(x), Some(y)) if y > 0.0 => format!("{:.2}×", x / y),
        _ => String::new(),
    }
}

impl Report {
    /// The table as Markdown.
    pub fn table(&self) -> String {
        table(&SERVER_COLUMNS, &self.rows)
    }

    /// The header lines: machine, date, command, setup.
    pub fn header(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "- machine: {} cores, {}, {:.1} GiB memory\n- date: {}\n- command: `{}`\n",
            m.cores, m.model, m.memory_gib, self.date, self.command
        );
        for line in &self.setup {
            let _ = writeln!(out, "- {line}");
        }
        out
    }

    /// The notes on missed (and remarkable) rows.
    pub fn notes(&self) -> String {
        notes(&self.rows)
    }

    /// BENCHMARKS.md: the table with its context, the notes, the scale-out section (empty when
    /// there is none) and the standing profile notes.
    pub fn markdown(&self, scale_out: &str, profile_notes: &str) -> String {
        let notes = self.notes();
        format!(
            "# Benchmarks\n\nWritten by `just bench` (overwritten on every run; every figure below \
             comes from the run described here). Each scenario runs against three servers in the \
             same invocation: Tidings (release build), a bare axum ceiling that returns the same \
             bytes from memory and fans out over a plain tokio broadcast, and a stock tRPC v11 \
             server (`@trpc/server` 11.25.2, standalone and ws adapters; it has no JSON-RPC, \
             compression or ETags: `—`). The ratios are the figures that survive a noisy \
             machine; the targets apply to the Tidings column. The scale-out section, when \
             present, says which run it comes from.\n\n{}\n{}\n## What limits it\n\n{}\n{}{}",
            self.header(),
            self.table(),
            if notes.is_empty() {
                "Every target was met.\n".to_owned()
            } else {
                notes
            },
            if scale_out.is_empty() {
                String::new()
            } else {
                format!("{scale_out}\n")
            },
            profile_notes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_table() {
        assert_eq!(ratio(Some(1.0), Some(2.0)), "0.50×");
        assert_eq!(ratio(Some(1.0), None), "");
        let report = Report {
            machine: Machine {
                cores: 2,
                model: "cpu".into(),
                memory_gib: 1.0,
            },
            date: "today".into(),
            command: "just bench".into(),
            setup: vec![],
            rows: vec![Row {
                scenario: "s".into(),
                metric: "m".into(),
                values: ["1".into(), "2".into(), "—".into()],
                ratios: ["0.50×".into(), String::new()],
                target: "≥ 1".into(),
                verdict: Verdict::Miss,
                note: Some("why".into()),
            }],
        };
        let md = report.markdown("", "");
        assert!(md.contains("| s | m | 1 | 2 | — | 0.50× |  | ≥ 1 | **miss** |"));
        assert!(md.contains("(missed): why"));
    }

    #[test]
    fn the_scale_out_section_is_spliced_in_place() {
        let section = format!("{SCALE_OUT_BEGIN}\nnew\n{SCALE_OUT_END}\n");
        let old = format!("# B\n\n{SCALE_OUT_BEGIN}\nold\n{SCALE_OUT_END}\n\n## Profiling notes\n");
        let spliced = splice_scale_out(&old, &section);
        assert_eq!(
            spliced,
            format!("# B\n\n{SCALE_OUT_BEGIN}\nnew\n{SCALE_OUT_END}\n\n## Profiling notes\n")
        );
        assert_eq!(scale_out_of(&spliced), Some(&section[..section.len() - 1]));
        let fresh = splice_scale_out("# B\n\n## Profiling notes\n", &section);
        assert!(fresh.starts_with(&format!("# B\n\n{SCALE_OUT_BEGIN}")));
        assert!(fresh.ends_with("\n## Profiling notes\n"));
    }
}
