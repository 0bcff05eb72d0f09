fn main() {
    eprintln!("co-follow: not built yet");
    std::process::exit(1);
}
