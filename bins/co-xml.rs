fn main() {
    eprintln!("co-xml: not built yet");
    std::process::exit(1);
}
