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
        let mut out = String::new();
        out.push_str(
            "| scenario | metric | Tidings | bare | tRPC Node | Tidings ÷ bare | Tidings ÷ Node | target | result |\n",
        );
        out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n");
        for row in &self.rows {
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
        let mut out = String::new();
        for row in self.rows.iter().filter(|r| r.note.is_some()) {
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

    /// BENCHMARKS.md: the table with its context, the notes, and the standing profile notes.
    pub fn markdown(&self, profile_notes: &str) -> String {
        let notes = self.notes();
        format!(
            "# Benchmarks\n\nWritten by `just bench` (overwritten on every run; every figure below \
             comes from the run described here). Each scenario runs against three servers in the \
             same invocation: Tidings (release build), a bare axum ceiling that returns the same \
             bytes from memory and fans out over a plain tokio broadcast, and a stock tRPC v11 \
             server (`@trpc/server` 11.25.2, standalone and ws adapters; it has no JSON-RPC, \
             compression or ETags: `—`). The ratios are the figures that survive a noisy \
             machine; the targets apply to the Tidings column.\n\n{}\n{}\n## What limits it\n\n{}\n{}",
            self.header(),
            self.table(),
            if notes.is_empty() {
                "Every target was met.\n".to_owned()
            } else {
                notes
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
        let md = report.markdown("");
        assert!(md.contains("| s | m | 1 | 2 | — | 0.50× |  | ≥ 1 | **miss** |"));
        assert!(md.contains("(missed): why"));
    }
}
