//! Proxy buffer sizes as nginx merges them into each block (`ngx_http_proxy_merge_loc_conf`),
//! and the checks it then makes (domain.md 4.5): a set of sizes that fails one is a fatal
//! `nginx -t` error, so sizes are judged per block, with what each block inherits.

use super::{BlockRef, Model};

/// The four sizes that go together, as set at one level (or nginx's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSet {
    /// `proxy_buffer_size`.
    pub buffer_size: u64,
    /// `proxy_buffers <number> <size>`.
    pub number: u64,
    pub size: u64,
    /// `proxy_busy_buffers_size`: by default twice the larger of the two sizes.
    pub busy: Option<u64>,
}

impl BufferSet {
    /// nginx's defaults: one memory page (4k here) each, 8 body buffers.
    pub const NGINX_DEFAULT: BufferSet = BufferSet { buffer_size: 4096, number: 8, size: 4096, busy: None };
}

/// The merged proxy buffer values of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffers {
    pub set: BufferSet,
    /// `proxy_temp_file_write_size`: by default twice the larger size.
    pub temp_write: Option<u64>,
    /// `proxy_max_temp_file_size` (0 turns temp files off).
    pub max_temp: u64,
}

/// `16k` -> 16384, `1m` -> 1048576, `0` -> 0.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.to_ascii_lowercase();
    let (digits, unit) = match text.chars().last()? {
        'k' => (&text[..text.len() - 1], 1024),
        'm' => (&text[..text.len() - 1], 1024 * 1024),
        'g' => (&text[..text.len() - 1], 1024 * 1024 * 1024),
        _ => (&text[..], 1),
    };
    digits.parse::<u64>().ok().map(|n| n * unit)
}

impl Buffers {
    /// The values in effect inside `block`; for sizes that nothing on its chain sets, those of
    /// `outer`: nginx's defaults, or a set about to be added at an enclosing level.
    pub fn in_effect(model: &Model, block: BlockRef, outer: &BufferSet) -> Buffers {
        let value = |name: &str, index: usize| -> Option<u64> {
            let dir = model.effective(block, name)?;
            model.arg(dir, index).and_then(|v| parse_size(&v))
        };
        Buffers {
            set: BufferSet {
                buffer_size: value("proxy_buffer_size", 0).unwrap_or(outer.buffer_size),
                number: value("proxy_buffers", 0).unwrap_or(outer.number),
                size: value("proxy_buffers", 1).unwrap_or(outer.size),
                busy: value("proxy_busy_buffers_size", 0).or(outer.busy),
            },
            temp_write: value("proxy_temp_file_write_size", 0),
            max_temp: value("proxy_max_temp_file_size", 0).unwrap_or(1024 * 1024 * 1024),
        }
    }

    /// nginx's five merge-time checks on proxy buffers, with its own messages.
    pub fn check(&self) -> Result<(), &'static str> {
        let b = &self.set;
        let size = b.buffer_size.max(b.size);
        let busy = b.busy.unwrap_or(2 * size);
        if b.number < 2 {
            return Err("there must be at least 2 \"proxy_buffers\"");
        }
        if busy < size {
            return Err("\"proxy_busy_buffers_size\" must be equal to or greater than the maximum of the value of \
                        \"proxy_buffer_size\" and one of the \"proxy_buffers\"");
        }
        if busy > (b.number - 1) * b.size {
            return Err(
                "\"proxy_busy_buffers_size\" must be less than the size of all \"proxy_buffers\" minus one buffer",
            );
        }
        if self.temp_write.unwrap_or(2 * size) < size {
            return Err("\"proxy_temp_file_write_size\" must be equal to or greater than the maximum of the value of \
                        \"proxy_buffer_size\" and one of the \"proxy_buffers\"");
        }
        if self.max_temp != 0 && self.max_temp < size {
            return Err("\"proxy_max_temp_file_size\" must be equal to zero to disable temporary files usage or must \
                        be equal to or greater than the maximum of the value of \"proxy_buffer_size\" and one of \
                        the \"proxy_buffers\"");
        }
        Ok(())
    }
}

/// The first of `blocks` whose merged buffers fail a check, with nginx's message (`outer` as in
/// [`Buffers::in_effect`]).
pub fn first_violation(model: &Model, blocks: &[BlockRef], outer: &BufferSet) -> Option<(BlockRef, &'static str)> {
    blocks.iter().find_map(|&block| Buffers::in_effect(model, block, outer).check().err().map(|m| (block, m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffers(buffer_size: u64, number: u64, size: u64, busy: Option<u64>) -> Buffers {
        Buffers { set: BufferSet { buffer_size, number, size, busy }, temp_write: None, max_temp: 1024 * 1024 * 1024 }
    }

    /// The combinations domain.md 4.5 checked with nginx 1.22.
    #[test]
    fn merge_rules_match_nginx() {
        const K: u64 = 1024;
        assert!(buffers(16 * K, 8, 16 * K, None).check().is_ok());
        assert!(buffers(16 * K, 8, 16 * K, Some(32 * K)).check().is_ok());
        assert!(buffers(128 * K, 4, 256 * K, Some(256 * K)).check().is_ok());
        assert!(buffers(16 * K, 4, 16 * K, Some(48 * K)).check().is_ok());
        // proxy_buffer_size 16k alone: busy defaults to 32k > 7 x 4k.
        assert!(buffers(16 * K, 8, 4 * K, None).check().unwrap_err().contains("minus one buffer"));
        assert!(buffers(4 * K, 1, 4 * K, None).check().unwrap_err().contains("at least 2"));
        assert!(buffers(16 * K, 8, 16 * K, Some(8 * K)).check().unwrap_err().contains("equal to or greater"));
        let mut low_temp = buffers(16 * K, 8, 16 * K, None);
        low_temp.temp_write = Some(8 * K);
        assert!(low_temp.check().unwrap_err().contains("proxy_temp_file_write_size"));
        low_temp.temp_write = None;
        low_temp.max_temp = 8 * K;
        assert!(low_temp.check().unwrap_err().contains("proxy_max_temp_file_size"));
        low_temp.max_temp = 0;
        assert!(low_temp.check().is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16k"), Some(16384));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("x"), None);
    }
}
