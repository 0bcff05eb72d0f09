fn main() {
    eprintln!("co-broadcast: not built yet");
    std::process::exit(1);
}
