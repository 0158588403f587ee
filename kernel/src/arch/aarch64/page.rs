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

/// Copies the 4 KiB page at kernel address `src` to `dst`.
///
/// # Safety
/// Both are page-aligned, in Normal memory, not overlapping; `dst` is the
/// caller's to overwrite and `src` stays mapped during the copy.
pub unsafe fn copy_page(dst: usize, src: usize) {
    // SAFETY: the caller's promise; the routine puts back the SIMD
    // registers it borrows (string.S).
    unsafe { copy_page_asm(dst as *mut u8, src as *const u8) }
}
