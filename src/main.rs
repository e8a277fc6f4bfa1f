//! The `hedgesim` binary: parse the command line, run the command, map the
//! outcome to an exit code (0 ok, 1 failure, 2 invalid input, 130 interrupted).

use clap::Parser;

use hedgesim::app::{self, AppError};
use hedgesim::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let result: Result<String, AppError> = match &cli.command {
        Command::Run(args) => app::run::run(args).map(|line| if args.quiet { String::new() } else { line }),
        Command::Validate { files, overrides, deny_warnings } => app::validate(files, &overrides.set, *deny_warnings),
        Command::Merge(args) => app::merge::merge(args),
        Command::Explore(args) => app::explore::explore(args).map(|line| if args.quiet { String::new() } else { line }),
        Command::Bench(args) => app::bench::bench(args).map(|text| {
            println!("{text}");
            String::new()
        }),
        Command::Compare(args) => app::compare::compare(args).map(|text| {
            print!("{text}");
            String::new()
        }),
        Command::Score(args) => app::score::score(args).map(|text| {
            print!("{text}");
            String::new()
        }),
        Command::Report(args) => app::report::report(args),
    };
    match result {
        Ok(text) => {
            if !text.is_empty() {
                let text = text.trim_end();
                if matches!(cli.command, Command::Validate { .. }) { println!("{text}") } else { eprintln!("{text}") }
            }
        }
        Err(e) => {
            // Paths and names from the user's files are escaped here, at the edge.
            eprintln!("error: {}", hedgesim::scenario::diagnostics::escape_lines(&e.to_string()));
            std::process::exit(e.exit_code());
        }
    }
}
