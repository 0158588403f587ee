//! Decoding of the Exception Syndrome Register (ESR_EL1): the class of a
//! synchronous exception and, for aborts, the fault status, level and access.
//!
//! Pure logic, unit-tested on the host; `exception.rs` prints it.

use core::fmt;

/// A decoded ESR_EL1 value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Esr(pub u64);

/// The exception classes this kernel distinguishes (ESR_EL1.EC, bits 31:26).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionClass {
    Unknown,
    WfiWfe,
    FpSimdAccess,
    IllegalExecutionState,
    Svc64,
    SysRegTrap,
    InstructionAbortLowerEl,
    InstructionAbortCurrentEl,
    PcAlignment,
    DataAbortLowerEl,
    DataAbortCurrentEl,
    SpAlignment,
    SError,
    BreakpointLowerEl,
    BreakpointCurrentEl,
    SoftwareStepLowerEl,
    SoftwareStepCurrentEl,
    WatchpointLowerEl,
    WatchpointCurrentEl,
    Brk,
    Other(u8),
}

impl ExceptionClass {
    /// Maps the 6-bit EC field to a class.
    pub fn from_ec(ec: u8) -> Self {
        use ExceptionClass::*;
        match ec {
            0x00 => Unknown,
            0x01 => WfiWfe,
            0x07 => FpSimdAccess,
            0x0e => IllegalExecutionState,
            0x15 => Svc64,
            0x18 => SysRegTrap,
            0x20 => InstructionAbortLowerEl,
            0x21 => InstructionAbortCurrentEl,
            0x22 => PcAlignment,
            0x24 => DataAbortLowerEl,
            0x25 => DataAbortCurrentEl,
            0x26 => SpAlignment,
            0x2f => SError,
            0x30 => BreakpointLowerEl,
            0x31 => BreakpointCurrentEl,
            0x32 => SoftwareStepLowerEl,
            0x33 => SoftwareStepCurrentEl,
            0x34 => WatchpointLowerEl,
            0x35 => WatchpointCurrentEl,
            0x3c => Brk,
            other => Other(other),
        }
    }

    /// A human-readable name, as printed in fault reports.
    pub fn name(self) -> &'static str {
        use ExceptionClass::*;
        match self {
            Unknown => "Unknown reason (undefined instruction)",
            WfiWfe => "Trapped WFI/WFE",
            FpSimdAccess => "Trapped FP/SIMD access",
            IllegalExecutionState => "Illegal execution state",
            Svc64 => "SVC from AArch64",
            SysRegTrap => "Trapped MSR/MRS/system instruction",
            InstructionAbortLowerEl => "Instruction Abort from lower EL",
            InstructionAbortCurrentEl => "Instruction Abort from current EL",
            PcAlignment => "PC alignment fault",
            DataAbortLowerEl => "Data Abort from lower EL",
            DataAbortCurrentEl => "Data Abort from current EL",
            SpAlignment => "SP alignment fault",
            SError => "SError interrupt",
            BreakpointLowerEl | BreakpointCurrentEl => "Breakpoint",
            SoftwareStepLowerEl | SoftwareStepCurrentEl => "Software step",
            WatchpointLowerEl | WatchpointCurrentEl => "Watchpoint",
            Brk => "BRK instruction",
            Other(_) => "Unrecognised exception class",
        }
    }

    /// Whether the ISS carries an instruction/data fault status code.
    pub fn is_abort(self) -> bool {
        use ExceptionClass::*;
        matches!(self, InstructionAbortLowerEl | InstructionAbortCurrentEl | DataAbortLowerEl | DataAbortCurrentEl)
    }

    /// Whether FAR_EL1 holds the faulting address for this class.
    pub fn far_valid(self) -> bool {
        use ExceptionClass::*;
        self.is_abort() || matches!(self, PcAlignment | WatchpointLowerEl | WatchpointCurrentEl)
    }
}

/// The fault status code of an abort (ISS.DFSC / ISS.IFSC, bits 5:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStatus {
    AddressSize { level: u8 },
    Translation { level: u8 },
    AccessFlag { level: u8 },
    Permission { level: u8 },
    SynchronousExternal,
    Alignment,
    TlbConflict,
    Other(u8),
}

impl FaultStatus {
    /// Decodes the 6-bit status code.
    pub fn from_code(code: u8) -> Self {
        let level = code & 0b11;
        match code {
            0b00_0000..=0b00_0011 => FaultStatus::AddressSize { level },
            0b00_0100..=0b00_0111 => FaultStatus::Translation { level },
            0b00_1000..=0b00_1011 => FaultStatus::AccessFlag { level },
            0b00_1100..=0b00_1111 => FaultStatus::Permission { level },
            0b01_0000 => FaultStatus::SynchronousExternal,
            0b10_0001 => FaultStatus::Alignment,
            0b11_0000 => FaultStatus::TlbConflict,
            other => FaultStatus::Other(other),
        }
    }
}

impl fmt::Display for FaultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultStatus::AddressSize { level } => write!(f, "address size fault, level {level}"),
            FaultStatus::Translation { level } => write!(f, "translation fault, level {level}"),
            FaultStatus::AccessFlag { level } => write!(f, "access flag fault, level {level}"),
            FaultStatus::Permission { level } => write!(f, "permission fault, level {level}"),
            FaultStatus::SynchronousExternal => f.write_str("synchronous external abort"),
            FaultStatus::Alignment => f.write_str("alignment fault"),
            FaultStatus::TlbConflict => f.write_str("TLB conflict abort"),
            FaultStatus::Other(code) => write!(f, "fault status {code:#04x}"),
        }
    }
}

impl Esr {
    /// Whether it is an SVC from AArch64 (a system call): one shift and
    /// compare, for the hot path.
    pub const fn is_svc64(self) -> bool {
        (self.0 >> 26) & 0x3f == 0x15
    }

    /// The exception class.
    pub fn class(self) -> ExceptionClass {
        ExceptionClass::from_ec(((self.0 >> 26) & 0x3f) as u8)
    }

    /// The instruction-specific syndrome (bits 24:0).
    pub fn iss(self) -> u32 {
        (self.0 & 0x1ff_ffff) as u32
    }

    /// For aborts, the fault status.
    pub fn fault_status(self) -> Option<FaultStatus> {
        self.class().is_abort().then(|| FaultStatus::from_code((self.iss() & 0x3f) as u8))
    }

    /// For data aborts, whether the access was a write (ISS.WnR).
    pub fn is_write(self) -> Option<bool> {
        matches!(self.class(), ExceptionClass::DataAbortLowerEl | ExceptionClass::DataAbortCurrentEl)
            .then_some(self.iss() & (1 << 6) != 0)
    }

    /// For SVC and BRK, the 16-bit immediate.
    pub fn immediate(self) -> Option<u16> {
        matches!(self.class(), ExceptionClass::Svc64 | ExceptionClass::Brk).then_some(self.iss() as u16)
    }
}

impl fmt::Display for Esr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = self.class();
        write!(f, "{} (EC {:#04x}", class.name(), (self.0 >> 26) & 0x3f)?;
        if let ExceptionClass::Other(ec) = class {
            write!(f, " = {ec:#04x}")?;
        }
        f.write_str(")")?;
        if let Some(status) = self.fault_status() {
            write!(f, ": {status}")?;
        }
        if let Some(write) = self.is_write() {
            f.write_str(if write { ", write" } else { ", read" })?;
        }
        if let Some(imm) = self.immediate() {
            write!(f, ", #{imm:#x}")?;
        }
        write!(f, " [ESR {:#010x}]", self.0)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn data_abort_current_el_translation_fault_level_0_read() {
        // EC 0x25, IL, DFSC 0b000100.
        let esr = Esr(0x9600_0004);
        assert_eq!(esr.class(), ExceptionClass::DataAbortCurrentEl);
        assert_eq!(esr.fault_status(), Some(FaultStatus::Translation { level: 0 }));
        assert_eq!(esr.is_write(), Some(false));
        assert_eq!(
            esr.to_string(),
            "Data Abort from current EL (EC 0x25): translation fault, level 0, read [ESR 0x96000004]"
        );
    }

    #[test]
    fn svc64_is_recognised_without_decoding() {
        let svc = Esr(0x5600_0000); // EC 0x15, IL, imm16 0
        assert!(svc.is_svc64() && svc.class() == ExceptionClass::Svc64);
        assert!(!Esr(0x9600_0004).is_svc64(), "a data abort");
        assert!(!Esr(0x4600_0000).is_svc64(), "EC 0x11, an AArch32 SVC");
    }

    #[test]
    fn data_abort_write_permission_fault_level_3() {
        let esr = Esr(0x9600_004f);
        assert_eq!(esr.fault_status(), Some(FaultStatus::Permission { level: 3 }));
        assert_eq!(esr.is_write(), Some(true));
    }

    #[test]
    fn instruction_abort_has_no_access_direction() {
        let esr = Esr(0x8600_000d);
        assert_eq!(esr.class(), ExceptionClass::InstructionAbortCurrentEl);
        assert_eq!(esr.fault_status(), Some(FaultStatus::Permission { level: 1 }));
        assert_eq!(esr.is_write(), None);
        assert!(esr.class().far_valid());
    }

    #[test]
    fn svc_and_brk_carry_their_immediate() {
        assert_eq!(Esr(0x5600_0000).class(), ExceptionClass::Svc64);
        assert_eq!(Esr(0x5600_0000).immediate(), Some(0));
        let brk = Esr(0xf200_03e8);
        assert_eq!(brk.class(), ExceptionClass::Brk);
        assert_eq!(brk.immediate(), Some(1000));
        assert!(!brk.class().far_valid());
        assert!(brk.to_string().contains("#0x3e8"));
    }

    #[test]
    fn unknown_classes_are_reported_not_misnamed() {
        let esr = Esr(0x3f << 26);
        assert_eq!(esr.class(), ExceptionClass::Other(0x3f));
        assert!(esr.to_string().starts_with("Unrecognised exception class"));
        assert_eq!(FaultStatus::from_code(0x3d), FaultStatus::Other(0x3d));
    }

    #[test]
    fn alignment_and_external_aborts() {
        assert_eq!(FaultStatus::from_code(0x21), FaultStatus::Alignment);
        assert_eq!(FaultStatus::from_code(0x10), FaultStatus::SynchronousExternal);
        assert_eq!(FaultStatus::from_code(0x30), FaultStatus::TlbConflict);
        assert_eq!(FaultStatus::from_code(0x0a), FaultStatus::AccessFlag { level: 2 });
    }
}
