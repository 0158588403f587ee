//! Where link.ld put the parts of the kernel image, as virtual addresses.
//! The one place that names the linker script's symbols.

extern "C" {
    static __kernel_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __boot_stacks_start: u8;
    static __boot_stacks_end: u8;
    static __kernel_end: u8;
}

/// The kernel image's sections: text `[start, text_end)`, rodata up to
/// `rodata_end`, data and bss up to `stacks_start`, the boot stacks up to
/// `stacks_end`, which is `end`. Every boundary is page-aligned.
#[derive(Clone, Copy, Debug)]
pub struct ImageLayout {
    pub start: usize,
    pub text_end: usize,
    pub rodata_end: usize,
    pub stacks_start: usize,
    pub stacks_end: usize,
    pub end: usize,
}

/// The image layout.
pub fn image() -> ImageLayout {
    ImageLayout {
        start: &raw const __kernel_start as usize,
        text_end: &raw const __text_end as usize,
        rodata_end: &raw const __rodata_end as usize,
        stacks_start: &raw const __boot_stacks_start as usize,
        stacks_end: &raw const __boot_stacks_end as usize,
        end: &raw const __kernel_end as usize,
    }
}
