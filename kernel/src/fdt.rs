//! A reader for the flattened device tree the firmware passes in x0
//! (Devicetree Specification v0.4, chapter 5): the memory ranges, the kernel
//! command line and the reserved regions, which is all the kernel needs from
//! it so far.
//!
//! The blob is read in place, big-endian, with every offset and length
//! checked against its size: a corrupt tree gives an error, never a fault.
//! Pure logic, unit-tested on the host with trees built by the test module.

/// The FDT magic number (big-endian at offset 0).
pub const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Most memory or reserved ranges recorded.
pub const MAX_RANGES: usize = 16;
/// Deepest node nesting followed.
const MAX_DEPTH: usize = 16;

/// Why a blob was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    BadMagic,
    Truncated,
    BadStructure,
    UnsupportedVersion,
}

/// A physical range `[base, base + size)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub base: u64,
    pub size: u64,
}

/// A fixed-capacity list of ranges.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ranges {
    items: [Range; MAX_RANGES],
    len: usize,
}

impl Ranges {
    /// Adds a non-empty range (silently dropped beyond [`MAX_RANGES`]).
    pub fn push(&mut self, r: Range) {
        if r.size > 0 && self.len < MAX_RANGES {
            self.items[self.len] = r;
            self.len += 1;
        }
    }

    /// The ranges recorded.
    pub fn as_slice(&self) -> &[Range] {
        &self.items[..self.len]
    }

    /// Sum of the sizes.
    pub fn total(&self) -> u64 {
        self.as_slice().iter().map(|r| r.size).sum()
    }
}

/// What the kernel takes from the device tree.
#[derive(Clone, Copy, Debug)]
pub struct BootInfo<'a> {
    /// RAM, from the `memory` nodes.
    pub memory: Ranges,
    /// Reserved memory: the /memreserve/ block and /reserved-memory children.
    pub reserved: Ranges,
    /// /chosen/bootargs, without the trailing NUL.
    pub bootargs: Option<&'a str>,
    /// The model string of the root node.
    pub model: Option<&'a str>,
    /// The blob's size (to reserve it).
    pub total_size: usize,
}

fn be32(blob: &[u8], off: usize) -> Result<u32, FdtError> {
    let b = blob.get(off..off + 4).ok_or(FdtError::Truncated)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(blob: &[u8], off: usize) -> Result<u64, FdtError> {
    Ok(((be32(blob, off)? as u64) << 32) | be32(blob, off + 4)? as u64)
}

/// Reads a number of `cells` 32-bit cells.
fn cells(data: &[u8], cells: u32) -> Option<u64> {
    match cells {
        1 => data.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64),
        2 => data.get(..8).map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
        _ => None,
    }
}

/// Decodes a `reg` property into `out`; cell counts other than 1 or 2 (never
/// used for RAM on this board) are skipped, not trusted.
fn push_reg(out: &mut Ranges, value: &[u8], address_cells: u32, size_cells: u32) {
    if !(1..=2).contains(&address_cells) || !(1..=2).contains(&size_cells) {
        return;
    }
    let stride = 4 * (address_cells + size_cells) as usize;
    for entry in value.chunks_exact(stride) {
        let base = cells(entry, address_cells);
        let size = cells(&entry[4 * address_cells as usize..], size_cells);
        if let (Some(base), Some(size)) = (base, size) {
            out.push(Range { base, size });
        }
    }
}

fn c_str(bytes: &[u8]) -> Option<&str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).ok()
}

/// Reads the size of the blob at the start of `header` (at least 8 bytes),
/// after checking the magic: how much memory to hand to [`parse`].
pub fn total_size(header: &[u8]) -> Result<usize, FdtError> {
    if be32(header, 0)? != FDT_MAGIC {
        return Err(FdtError::BadMagic);
    }
    Ok(be32(header, 4)? as usize)
}

/// Per-node state while walking the structure block.
#[derive(Clone, Copy, Default)]
struct Node {
    /// Cells for the `reg` of this node's children.
    address_cells: u32,
    size_cells: u32,
    kind: NodeKind,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum NodeKind {
    #[default]
    Other,
    Root,
    Memory,
    Chosen,
    ReservedMemory,
    ReservedChild,
}

/// Parses a device tree blob.
pub fn parse(blob: &[u8]) -> Result<BootInfo<'_>, FdtError> {
    let size = total_size(blob)?;
    if size > blob.len() || size < 40 {
        return Err(FdtError::Truncated);
    }
    let blob = &blob[..size];
    let off_struct = be32(blob, 8)? as usize;
    let off_strings = be32(blob, 12)? as usize;
    let off_rsvmap = be32(blob, 16)? as usize;
    if be32(blob, 20)? < 16 || be32(blob, 24)? > 17 {
        return Err(FdtError::UnsupportedVersion);
    }
    let strings = blob.get(off_strings..).ok_or(FdtError::Truncated)?;

    let mut info = BootInfo {
        memory: Ranges::default(),
        reserved: Ranges::default(),
        bootargs: None,
        model: None,
        total_size: size,
    };

    // The /memreserve/ block: (address, size) pairs ending with a zero pair.
    let mut off = off_rsvmap;
    loop {
        let (base, len) = (be64(blob, off)?, be64(blob, off + 8)?);
        if base == 0 && len == 0 {
            break;
        }
        info.reserved.push(Range { base, size: len });
        off += 16;
    }

    let mut stack = [Node::default(); MAX_DEPTH];
    let mut depth = 0usize; // number of open nodes
    let mut off = off_struct;
    loop {
        let token = be32(blob, off)?;
        off += 4;
        match token {
            FDT_BEGIN_NODE => {
                let name_bytes = blob.get(off..).ok_or(FdtError::Truncated)?;
                let name_len = name_bytes.iter().position(|&b| b == 0).ok_or(FdtError::Truncated)?;
                let name = core::str::from_utf8(&name_bytes[..name_len]).map_err(|_| FdtError::BadStructure)?;
                off = (off + name_len + 1 + 3) & !3;
                if depth == MAX_DEPTH {
                    return Err(FdtError::BadStructure);
                }
                let parent_kind = if depth > 0 { stack[depth - 1].kind } else { NodeKind::Other };
                let base = name.split('@').next().unwrap_or("");
                let kind = match (depth, parent_kind, base) {
                    (0, _, _) => NodeKind::Root,
                    (1, _, "memory") => NodeKind::Memory,
                    (1, _, "chosen") => NodeKind::Chosen,
                    (1, _, "reserved-memory") => NodeKind::ReservedMemory,
                    (2, NodeKind::ReservedMemory, _) => NodeKind::ReservedChild,
                    _ => NodeKind::Other,
                };
                // Defaults from the spec: 2 address cells, 1 size cell.
                stack[depth] = Node { address_cells: 2, size_cells: 1, kind };
                depth += 1;
            }
            FDT_END_NODE => {
                depth = depth.checked_sub(1).ok_or(FdtError::BadStructure)?;
            }
            FDT_PROP => {
                let len = be32(blob, off)? as usize;
                let name_off = be32(blob, off + 4)? as usize;
                let value = blob.get(off + 8..off + 8 + len).ok_or(FdtError::Truncated)?;
                off = (off + 8 + len + 3) & !3;
                let name = strings.get(name_off..).and_then(c_str).ok_or(FdtError::Truncated)?;
                if depth == 0 {
                    return Err(FdtError::BadStructure);
                }
                let node = stack[depth - 1];
                let parent = if depth >= 2 {
                    stack[depth - 2]
                } else {
                    Node { address_cells: 2, size_cells: 1, ..Node::default() }
                };
                match (node.kind, name) {
                    (_, "#address-cells") => stack[depth - 1].address_cells = cells(value, 1).unwrap_or(2) as u32,
                    (_, "#size-cells") => stack[depth - 1].size_cells = cells(value, 1).unwrap_or(1) as u32,
                    (NodeKind::Root, "model") => info.model = c_str(value),
                    (NodeKind::Memory, "reg") => {
                        push_reg(&mut info.memory, value, parent.address_cells, parent.size_cells)
                    }
                    (NodeKind::ReservedChild, "reg") => {
                        push_reg(&mut info.reserved, value, parent.address_cells, parent.size_cells)
                    }
                    (NodeKind::Chosen, "bootargs") => info.bootargs = c_str(value).filter(|s| !s.is_empty()),
                    _ => {}
                }
            }
            FDT_NOP => {}
            FDT_END => break,
            _ => return Err(FdtError::BadStructure),
        }
    }
    Ok(info)
}

#[cfg(test)]
pub mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// Builds device tree blobs for tests (the subset of dtc's output we read).
    #[derive(Default)]
    pub struct Builder {
        structure: Vec<u8>,
        strings: Vec<u8>,
        rsv: Vec<(u64, u64)>,
    }

    impl Builder {
        fn word(&mut self, w: u32) {
            self.structure.extend_from_slice(&w.to_be_bytes());
        }
        fn pad(&mut self) {
            while !self.structure.len().is_multiple_of(4) {
                self.structure.push(0);
            }
        }
        pub fn begin(&mut self, name: &str) -> &mut Self {
            self.word(FDT_BEGIN_NODE);
            self.structure.extend_from_slice(name.as_bytes());
            self.structure.push(0);
            self.pad();
            self
        }
        pub fn end(&mut self) -> &mut Self {
            self.word(FDT_END_NODE);
            self
        }
        pub fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
            let off = match self
                .strings
                .windows(name.len() + 1)
                .position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0)
            {
                Some(o) => o,
                None => {
                    let o = self.strings.len();
                    self.strings.extend_from_slice(name.as_bytes());
                    self.strings.push(0);
                    o
                }
            };
            self.word(FDT_PROP);
            self.word(value.len() as u32);
            self.word(off as u32);
            self.structure.extend_from_slice(value);
            self.pad();
            self
        }
        pub fn prop_u32s(&mut self, name: &str, values: &[u32]) -> &mut Self {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
            self.prop(name, &bytes)
        }
        pub fn prop_str(&mut self, name: &str, s: &str) -> &mut Self {
            let mut bytes = Vec::from(s.as_bytes());
            bytes.push(0);
            self.prop(name, &bytes)
        }
        pub fn memreserve(&mut self, base: u64, size: u64) -> &mut Self {
            self.rsv.push((base, size));
            self
        }
        pub fn finish(&mut self) -> Vec<u8> {
            self.word(FDT_END);
            let off_rsv = 40;
            let rsv_len = 16 * (self.rsv.len() + 1);
            let off_struct = off_rsv + rsv_len;
            let off_strings = off_struct + self.structure.len();
            let total = off_strings + self.strings.len();
            let mut blob = Vec::new();
            for w in [FDT_MAGIC, total as u32, off_struct as u32, off_strings as u32, off_rsv as u32, 17, 16, 0] {
                blob.extend_from_slice(&w.to_be_bytes());
            }
            blob.extend_from_slice(&(self.strings.len() as u32).to_be_bytes());
            blob.extend_from_slice(&(self.structure.len() as u32).to_be_bytes());
            for &(b, s) in self.rsv.iter().chain([(0, 0)].iter()) {
                blob.extend_from_slice(&b.to_be_bytes());
                blob.extend_from_slice(&s.to_be_bytes());
            }
            blob.extend_from_slice(&self.structure);
            blob.extend_from_slice(&self.strings);
            blob
        }
    }

    /// A tree shaped like the Pi 4 firmware's for an 8 GiB board.
    pub fn pi4_like(bootargs: &str) -> Vec<u8> {
        let mut b = Builder::default();
        b.memreserve(0, 0x1000);
        b.begin("")
            .prop_u32s("#address-cells", &[2])
            .prop_u32s("#size-cells", &[1])
            .prop_str("model", "Raspberry Pi 4 Model B Rev 1.4")
            .begin("chosen")
            .prop_str("bootargs", bootargs)
            .end()
            .begin("reserved-memory")
            .prop_u32s("#address-cells", &[2])
            .prop_u32s("#size-cells", &[1])
            .begin("linux,cma")
            .prop_u32s("size", &[0x400_0000])
            .end()
            .begin("nvram@0")
            .prop_u32s("reg", &[0, 0x3ee0_0000, 0x1000])
            .end()
            .end()
            .begin("soc")
            .begin("memory@7e000000")
            .prop_u32s("reg", &[0x7e00_0000, 0x1000])
            .end()
            .end()
            .begin("memory@0")
            .prop_str("device_type", "memory")
            .prop_u32s(
                "reg",
                &[0, 0, 0x3b40_0000, 0, 0x4000_0000, 0xbc00_0000, 1, 0, 0x8000_0000, 1, 0x8000_0000, 0x8000_0000],
            )
            .end()
            .end();
        b.finish()
    }

    #[test]
    fn reads_memory_ranges_with_two_address_cells() {
        let blob = pi4_like("log=debug");
        let info = parse(&blob).unwrap();
        let mem: Vec<(u64, u64)> = info.memory.as_slice().iter().map(|r| (r.base, r.size)).collect();
        assert_eq!(
            mem,
            [(0, 0x3b40_0000), (0x4000_0000, 0xbc00_0000), (0x1_0000_0000, 0x8000_0000), (0x1_8000_0000, 0x8000_0000)]
        );
        assert_eq!(info.memory.total(), 0x3b40_0000 + 0xbc00_0000 + 0x1_0000_0000);
        assert_eq!(info.model, Some("Raspberry Pi 4 Model B Rev 1.4"));
        assert_eq!(info.total_size, blob.len());
    }

    #[test]
    fn reads_the_command_line_and_reserved_regions() {
        let blob = pi4_like("console=serial0,115200 log=warn quiet");
        let info = parse(&blob).unwrap();
        assert_eq!(info.bootargs, Some("console=serial0,115200 log=warn quiet"));
        let rsv: Vec<(u64, u64)> = info.reserved.as_slice().iter().map(|r| (r.base, r.size)).collect();
        assert_eq!(rsv, [(0, 0x1000), (0x3ee0_0000, 0x1000)], "memreserve block, then reserved-memory children");
    }

    #[test]
    fn nodes_not_at_the_top_level_are_not_memory() {
        let blob = pi4_like("");
        let info = parse(&blob).unwrap();
        assert!(info.memory.as_slice().iter().all(|r| r.base != 0x7e00_0000), "soc/memory@7e000000 is not RAM");
        assert_eq!(info.bootargs, None, "an empty command line counts as none");
    }

    #[test]
    fn one_cell_sizes_and_a_minimal_tree() {
        let mut b = Builder::default();
        b.begin("").prop_u32s("#address-cells", &[1]).prop_u32s("#size-cells", &[1]);
        b.begin("memory").prop_u32s("reg", &[0, 0x3c00_0000]).end().end();
        let blob = b.finish();
        let info = parse(&blob).unwrap();
        assert_eq!(info.memory.as_slice(), &[Range { base: 0, size: 0x3c00_0000 }]);
    }

    #[test]
    fn absurd_cell_counts_are_skipped_not_trusted() {
        let mut b = Builder::default();
        b.begin("").prop_u32s("#address-cells", &[0xffff_ffff]).prop_u32s("#size-cells", &[2]);
        b.begin("memory").prop_u32s("reg", &[0, 0, 0, 0x1000]).end().end();
        let blob = b.finish();
        assert!(parse(&blob).unwrap().memory.as_slice().is_empty());
    }

    #[test]
    fn corrupt_blobs_are_refused_not_followed() {
        let blob = pi4_like("x");
        assert_eq!(parse(&blob[..blob.len() - 1]).err(), Some(FdtError::Truncated));
        let mut bad = blob.clone();
        bad[0] = 0;
        assert_eq!(parse(&bad).err(), Some(FdtError::BadMagic));
        assert_eq!(total_size(&[0xd0, 0x0d]).err(), Some(FdtError::Truncated));
        // A structure token that does not exist.
        let mut bad = blob.clone();
        let off_struct = u32::from_be_bytes([bad[8], bad[9], bad[10], bad[11]]) as usize;
        bad[off_struct + 3] = 7;
        assert_eq!(parse(&bad).err(), Some(FdtError::BadStructure));
        // A property longer than the blob.
        let mut b = Builder::default();
        b.begin("").prop("x", &[1, 2, 3, 4]).end();
        let mut blob = b.finish();
        let off_struct = u32::from_be_bytes([blob[8], blob[9], blob[10], blob[11]]) as usize;
        let len_at = off_struct + 8 + 4; // after BEGIN_NODE "" (8 bytes) and PROP token
        blob[len_at..len_at + 4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        assert_eq!(parse(&blob).err(), Some(FdtError::Truncated));
    }
}
