//! Intrusive circular doubly linked lists (Linux: `struct list_head`,
//! include/linux/list.h).
//!
//! A [`ListHead`] is embedded in the structure that is on the list; the list
//! itself is another `ListHead` that links to itself when empty.
//! [`container_of!`](crate::container_of) gets from a link back to its
//! structure. The links are raw pointers: the caller guarantees, under the
//! lock that protects the list, that linked structures stay alive and do not
//! move while they are on it (the kernel's are in slab memory or statics).

use core::ptr;

/// A link in (or the head of) a circular doubly linked list.
#[repr(C)]
#[derive(Debug)]
pub struct ListHead {
    pub next: *mut ListHead,
    pub prev: *mut ListHead,
}

// SAFETY: a ListHead is only a pair of addresses; every access to the list it
// belongs to happens under the lock protecting that list.
unsafe impl Send for ListHead {}
// SAFETY: as above.
unsafe impl Sync for ListHead {}

impl Default for ListHead {
    fn default() -> Self {
        Self::new()
    }
}

impl ListHead {
    /// An unlinked head; call [`ListHead::init`] once it is at its final address.
    pub const fn new() -> Self {
        ListHead { next: ptr::null_mut(), prev: ptr::null_mut() }
    }

    /// Makes `this` an empty list (linked to itself) (Linux: `INIT_LIST_HEAD`).
    ///
    /// # Safety
    /// `this` must be valid for writes and not on any list.
    pub unsafe fn init(this: *mut ListHead) {
        // SAFETY: caller's contract.
        unsafe {
            (*this).next = this;
            (*this).prev = this;
        }
    }

    /// Whether the list `this` heads is empty (or `this` is an unlinked entry).
    ///
    /// # Safety
    /// `this` must be an initialised head or entry.
    pub unsafe fn is_empty(this: *const ListHead) -> bool {
        // SAFETY: caller's contract.
        unsafe { ptr::eq((*this).next, this) }
    }

    /// Inserts `new` just before `head`, i.e. at the tail (Linux: `list_add_tail`).
    ///
    /// # Safety
    /// `head` is an initialised list; `new` is valid and not on a list.
    pub unsafe fn add_tail(new: *mut ListHead, head: *mut ListHead) {
        // SAFETY: caller's contract; all four nodes are valid list members.
        unsafe {
            let prev = (*head).prev;
            (*new).next = head;
            (*new).prev = prev;
            (*prev).next = new;
            (*head).prev = new;
        }
    }

    /// Inserts `new` just after `head`, i.e. at the front (Linux: `list_add`).
    ///
    /// # Safety
    /// As for [`ListHead::add_tail`].
    pub unsafe fn add(new: *mut ListHead, head: *mut ListHead) {
        // SAFETY: caller's contract.
        unsafe { Self::add_tail(new, (*head).next) }
    }

    /// Unlinks `entry` and leaves it as an empty list of its own (Linux:
    /// `list_del_init`), so deleting twice is harmless.
    ///
    /// # Safety
    /// `entry` must be initialised (on a list or self-linked).
    pub unsafe fn del(entry: *mut ListHead) {
        // SAFETY: caller's contract; neighbours are valid list members.
        unsafe {
            let (prev, next) = ((*entry).prev, (*entry).next);
            (*prev).next = next;
            (*next).prev = prev;
            Self::init(entry);
        }
    }

    /// Iterates over the entries of the list `head` (not `head` itself). The
    /// next pointer is read before an entry is yielded, so the caller may
    /// delete the yielded entry (Linux: `list_for_each_safe`).
    ///
    /// # Safety
    /// `head` is an initialised list that stays valid, and is not changed
    /// other than by deleting yielded entries, while the iterator is used.
    pub unsafe fn iter(head: *mut ListHead) -> ListIter {
        // SAFETY: caller's contract.
        ListIter { head, cur: unsafe { (*head).next } }
    }
}

/// Iterator over the entries of a list; see [`ListHead::iter`].
pub struct ListIter {
    head: *mut ListHead,
    cur: *mut ListHead,
}

impl Iterator for ListIter {
    type Item = *mut ListHead;
    fn next(&mut self) -> Option<*mut ListHead> {
        if ptr::eq(self.cur, self.head) {
            return None;
        }
        let item = self.cur;
        // SAFETY: `iter`'s contract: entries are valid until deleted, and the
        // successor is read before the caller can delete `item`.
        self.cur = unsafe { (*item).next };
        Some(item)
    }
}

/// The address of the structure of type `$type` whose field `$field` is at
/// `$ptr` (Linux: `container_of`). Must be used in an `unsafe` context.
#[macro_export]
macro_rules! container_of {
    ($ptr:expr, $type:ty, $field:ident) => {
        ($ptr as *mut u8).sub(core::mem::offset_of!($type, $field)) as *mut $type
    };
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    struct Item {
        value: u32,
        link: ListHead,
    }

    fn values(head: *mut ListHead) -> Vec<u32> {
        // SAFETY: the test's list holds boxed Items that outlive the call.
        unsafe { ListHead::iter(head).map(|l| (*crate::container_of!(l, Item, link)).value).collect() }
    }

    #[test]
    fn add_delete_and_iterate_in_order() {
        let mut head = Box::new(ListHead::new());
        let head: *mut ListHead = &mut *head;
        let mut items: Vec<Box<Item>> = (0..4).map(|value| Box::new(Item { value, link: ListHead::new() })).collect();
        // SAFETY: head and items are boxed (fixed addresses) and outlive every use.
        unsafe {
            ListHead::init(head);
            assert!(ListHead::is_empty(head));
            for item in &mut items {
                ListHead::add_tail(&mut item.link, head);
            }
            assert_eq!(values(head), [0, 1, 2, 3]);
            ListHead::del(&mut items[1].link);
            ListHead::del(&mut items[1].link); // deleting twice is harmless
            assert!(ListHead::is_empty(&items[1].link));
            assert_eq!(values(head), [0, 2, 3]);
            ListHead::add(&mut items[1].link, head);
            assert_eq!(values(head), [1, 0, 2, 3]);
            // Deleting while iterating.
            for link in ListHead::iter(head) {
                if (*crate::container_of!(link, Item, link)).value.is_multiple_of(2) {
                    ListHead::del(link);
                }
            }
            assert_eq!(values(head), [1, 3]);
            for item in &mut items {
                ListHead::del(&mut item.link);
            }
            assert!(ListHead::is_empty(head));
        }
    }
}
