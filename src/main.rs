fn main() {
    std::process::exit(scalepatch::cli::main());
}
