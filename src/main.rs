use clap::Parser;

fn main() -> std::process::ExitCode {
    kiln::allocator::keep_freed_memory();
    // Before any thread starts: it may set CUDA_PATH for Burn's CUDA backend.
    #[cfg(feature = "cuda")]
    kiln::cuda_toolkit::export_for_cubecl();
    let cli = kiln::cli::Cli::parse();
    match kiln::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", kiln::cli::describe(&err));
            std::process::ExitCode::FAILURE
        }
    }
}
