//! Whole-page zeroing and copying (Linux: `clear_page`, `copy_page`), in
//! string.S: DC ZVA for zeroing, SIMD load/store pairs for copying.

extern "C" {
    #[link_name = "clear_page"]
    fn clear_page_asm(va: *mut u8);
    #[link_name = "copy_page"]
    fn copy_page_asm(dst: *mut u8, src: *const u8);
}

/// Zeroes the 4 KiB page at kernel address `va`.
///
/// # Safety
/// `va` is page-aligned, in Normal memory (the linear map), and the page is
/// the caller's to overwrite.
pub unsafe fn clear_page(va: usize) {
    // SAFETY: the caller's promise.
    unsafe { clear_page_asm(va as *mut u8) }
}

/// Copies the 4 KiB page at kernel address `src` to `dst`. The copy
/// borrows v0-v7, which hold user state (fpsimd.rs), and puts them back,
/// with IRQs masked in between: a task switch there would not save a
/// kernel thread's borrowed values.
///
/// # Safety
/// Both are page-aligned, in Normal memory, not overlapping; `dst` is the
/// caller's to overwrite and `src` stays mapped during the copy.
pub unsafe fn copy_page(dst: usize, src: usize) {
    let flags = super::cpu::local_irq_save();
    // SAFETY: the caller's promise; with IRQs masked no task switch comes
    // before the borrowed SIMD registers are back.
    unsafe { copy_page_asm(dst as *mut u8, src as *const u8) };
    super::cpu::local_irq_restore(flags);
}
