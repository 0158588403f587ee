//! Decoding of the board revision code the firmware reports (new-style codes,
//! bit 23 set): the model and the RAM fitted.

/// Whether `revision` uses the new-style bit fields.
pub const fn is_new_style(revision: u32) -> bool {
    revision & (1 << 23) != 0
}

/// Board name from a revision code.
pub fn model_name(revision: u32) -> &'static str {
    if !is_new_style(revision) {
        return "unknown (old-style revision code)";
    }
    match (revision >> 4) & 0xff {
        0x11 => "Raspberry Pi 4 Model B",
        0x13 => "Raspberry Pi 400",
        0x14 => "Raspberry Pi Compute Module 4",
        0x15 => "Raspberry Pi Compute Module 4S",
        _ => "unknown Raspberry Pi",
    }
}

/// RAM fitted on the board, from the revision code (bits 22:20: 256 MiB << n),
/// or `None` for old-style codes.
pub const fn memory_bytes(revision: u32) -> Option<u64> {
    if !is_new_style(revision) {
        return None;
    }
    Some((256u64 << 20) << ((revision >> 20) & 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pi4_codes() {
        // QEMU raspi4b: Pi 4 B, 2 GiB, Sony UK, revision 1.5.
        assert_eq!(model_name(0xb03115), "Raspberry Pi 4 Model B");
        assert_eq!(memory_bytes(0xb03115), Some(2 << 30));
        // An 8 GiB Pi 4 B and a 4 GiB Pi 400.
        assert_eq!(memory_bytes(0xd03114), Some(8 << 30));
        assert_eq!(model_name(0xc03130), "Raspberry Pi 400");
        assert_eq!(memory_bytes(0xc03130), Some(4 << 30));
    }

    #[test]
    fn old_style_codes_are_not_guessed() {
        assert_eq!(model_name(0x000e), "unknown (old-style revision code)");
        assert_eq!(memory_bytes(0x000e), None);
    }
}
