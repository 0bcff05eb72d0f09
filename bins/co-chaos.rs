fn main() {
    eprintln!("co-chaos: not built yet");
    std::process::exit(1);
}
