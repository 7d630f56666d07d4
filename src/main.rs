fn main() {
    std::process::exit(prodsafe::cli::main());
}
