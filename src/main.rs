use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = kiln::cli::Cli::parse();
    match kiln::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", kiln::cli::describe(&err));
            std::process::ExitCode::FAILURE
        }
    }
}
