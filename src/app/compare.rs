//! `hedgesim compare`: the CLI edge of [`crate::compare`] (printing and
//! writing files; the statistics are pure and live there).

use super::{AppError, io_err};
use crate::cli::{CompareArgs, OutputFormat};
use crate::compare::{CompareOptions, Format, compare_many, output_files_many, render_many};
use crate::output::atomic::write_file;

/// Execute `hedgesim compare`; returns the table for stdout.
pub fn compare(args: &CompareArgs) -> Result<String, AppError> {
    let opts = CompareOptions {
        a: args.a.clone(),
        b: args.b.clone(),
        more: args.more.clone(),
        year: args.year,
        metrics: args.metrics.clone(),
        all_steps: args.all_steps,
    };
    let cs = compare_many(&opts).map_err(|e| {
        if e.is_input_error() { AppError::Invalid(e.to_string()) } else { AppError::Failed(e.to_string()) }
    })?;
    let format = match args.format {
        OutputFormat::Markdown => Format::Markdown,
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Json => Format::Json,
    };
    if !matches!(format, Format::Markdown) {
        for c in &cs {
            eprintln!("{}", c.headline());
        }
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        // Each file is written to NAME.tmp and renamed (write_file), so a
        // failed write (a full disk) leaves no partial compare.csv.
        for (name, text) in output_files_many(&cs) {
            let path = dir.join(name);
            write_file(&path, text.as_bytes()).map_err(|e| io_err("cannot write", &path, e))?;
            if name == "compare.csv" {
                super::report::write_compare_report(dir, &args.a, &args.b, &text)?;
            }
        }
    }
    Ok(render_many(&cs, format))
}
