fn main() {
    eprintln!("co-filter: not built yet");
    std::process::exit(1);
}
