//! What one document may make co-xml hold: every bound is an option with a documented default,
//! so memory stays bounded whatever the input, and a document over a bound is a one-line error
//! naming the option that would let it through.

/// The bounds of one parse (`co-xml --max-token --max-depth --max-attributes
/// --max-entity-expansion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::Args)]
pub struct XmlLimits {
    /// The longest single token (a tag with its attributes, a comment, a run of character
    /// data between two tags) in bytes; the read buffer never grows past it.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_TOKEN)]
    pub max_token: usize,
    /// The deepest element nesting. The names of the open elements also count against
    /// --max-token, so the element stack holds at most that many bytes.
    #[arg(long, value_name = "LEVELS", default_value_t = DEFAULT_MAX_DEPTH)]
    pub max_depth: usize,
    /// The most attributes one start tag may carry.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_ATTRIBUTES)]
    pub max_attributes: usize,
    /// The most bytes that references to entities declared in the DOCTYPE may expand to in
    /// the whole document (a "billion laughs" document is refused, not expanded).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_ENTITY_EXPANSION)]
    pub max_entity_expansion: usize,
}

/// 16 MiB: an event larger than the link's frame limit could not travel anyway.
pub const DEFAULT_MAX_TOKEN: usize = crate::link::DEFAULT_MAX_FRAME;
/// Far deeper than any real document (libxml2 stops at 256 by default).
pub const DEFAULT_MAX_DEPTH: usize = 100_000;
/// An attribute costs about 50 bytes in an event: 100,000 of them are about 5 MB.
pub const DEFAULT_MAX_ATTRIBUTES: usize = 100_000;
/// 8 MiB of expanded entity text per document (expat starts checking amplification there).
pub const DEFAULT_MAX_ENTITY_EXPANSION: usize = 8 << 20;

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_token: DEFAULT_MAX_TOKEN,
            max_depth: DEFAULT_MAX_DEPTH,
            max_attributes: DEFAULT_MAX_ATTRIBUTES,
            max_entity_expansion: DEFAULT_MAX_ENTITY_EXPANSION,
        }
    }
}
