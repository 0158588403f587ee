//! The BCM2711 EMMC2 controller (an SDHCI 3.0 host at 0xFE34_0000, the
//! micro-SD slot of a Pi 4; QEMU `raspi4b` attaches `-drive if=sd` to it)
//! and the SD card protocol spoken through it (Linux:
//! drivers/mmc/host/sdhci.c with sdhci-iproc.c, drivers/mmc/core/sd.c).
//!
//! The protocol logic ([`Sdhci`]) talks to the registers through the
//! [`HostRegs`] trait, so the host's unit tests run it against a register
//! model of a controller with a card ([`tests`]); [`EmmcRegs`] is the real
//! register block in `tock-registers`. Time and waiting come from the
//! caller through [`SdEnv`]: the kernel's waits for a command or a data
//! block sleep until the controller's interrupt.
//!
//! Card initialisation (SD Physical Layer Simplified Specification 3.01,
//! 4.2): CMD0, CMD8 (voltage check, which tells a v2 card), ACMD41 with HCS
//! until the card is ready (CCS says block addressing), CMD2, CMD3 (the
//! relative address), CMD9 (the CSD with the capacity), CMD7 (select),
//! ACMD6 (4-bit bus), CMD16 (512-byte blocks, byte-addressed cards only),
//! then the clock goes from 400 kHz to 25 MHz (default speed).
//!
//! Transfers use programmed I/O through the data port: CMD17/CMD24 for one
//! block, CMD18/CMD25 with the controller's auto-CMD12 for several.
//!
//! Completion: the status bits latch in INTERRUPT (all enabled in
//! IRPT_MASK); a wait for one ([`Sdhci::wait_int`]) first *arms* the
//! interrupt signal for that bit and the error bits (IRPT_EN), then looks
//! at the status, and if the event has not happened yet, waits in
//! [`SdEnv::wait_irq`]. The interrupt handler ([`disarm`]) clears IRPT_EN,
//! which drops the line, and wakes the waiter, which looks again. Arming
//! before looking loses no event: one that comes after the look raises the
//! interrupt. Short waits with no interrupt of their own (inhibit bits,
//! resets, the clock becoming stable) poll with [`SdEnv::relax`].
//!
//! Departures from Linux: no DMA (ADMA2/SDMA), no high speed or UHS modes,
//! and Linux's handler does the work of a transfer (it moves the data in
//! the interrupt), where here the woken task does; every wait is bounded
//! and ends in [`SdError::Timeout`].

use crate::mmio::Mmio;
use tock_registers::{
    interfaces::{Readable, Writeable},
    register_structs,
    registers::{ReadOnly, ReadWrite},
};

register_structs! {
    /// The SDHCI register block (SD Host Controller Simplified
    /// Specification 3.00, 2.1); 32-bit accesses only, as the BCM2711's
    /// EMMC blocks require.
    #[allow(non_snake_case)]
    pub RegisterBlock {
        (0x00 => ARG2: ReadWrite<u32>),
        (0x04 => BLKSIZECNT: ReadWrite<u32>),
        (0x08 => ARG1: ReadWrite<u32>),
        (0x0c => CMDTM: ReadWrite<u32>),
        (0x10 => RESP0: ReadOnly<u32>),
        (0x14 => RESP1: ReadOnly<u32>),
        (0x18 => RESP2: ReadOnly<u32>),
        (0x1c => RESP3: ReadOnly<u32>),
        (0x20 => DATA: ReadWrite<u32>),
        (0x24 => STATUS: ReadOnly<u32>),
        (0x28 => CONTROL0: ReadWrite<u32>),
        (0x2c => CONTROL1: ReadWrite<u32>),
        (0x30 => INTERRUPT: ReadWrite<u32>),
        (0x34 => IRPT_MASK: ReadWrite<u32>),
        (0x38 => IRPT_EN: ReadWrite<u32>),
        (0x3c => CONTROL2: ReadWrite<u32>),
        (0x40 => CAPABILITIES0: ReadOnly<u32>),
        (0x44 => CAPABILITIES1: ReadOnly<u32>),
        (0x48 => _reserved0),
        (0xfc => SLOTISR_VER: ReadOnly<u32>),
        (0x100 => @END),
    }
}

/// The registers the driver uses, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    BlkSizeCnt,
    Arg1,
    CmdTm,
    Resp0,
    Resp1,
    Resp2,
    Resp3,
    Data,
    Status,
    Control0,
    Control1,
    Interrupt,
    IrptMask,
    IrptEn,
    Capabilities0,
    SlotIsrVer,
}

/// 32-bit register access (the real block or a model).
pub trait HostRegs {
    fn read(&self, reg: Reg) -> u32;
    fn write(&self, reg: Reg, value: u32);
}

/// Turns the controller's interrupt signals off (IRPT_EN), which lowers its
/// line; the status bits stay latched for the woken waiter to read. The
/// interrupt handler's one register access, and the end of every wait.
pub fn disarm(regs: &impl HostRegs) {
    regs.write(Reg::IrptEn, 0);
}

/// The EMMC2 block at its mapped address.
pub struct EmmcRegs {
    regs: Mmio<RegisterBlock>,
}

impl EmmcRegs {
    /// # Safety
    /// `base` must be the mapped virtual address of an SDHCI register block.
    pub const unsafe fn new(base: usize) -> Self {
        // SAFETY: the caller's promise.
        EmmcRegs { regs: unsafe { Mmio::new(base) } }
    }
}

impl HostRegs for EmmcRegs {
    fn read(&self, reg: Reg) -> u32 {
        let r = &self.regs;
        match reg {
            Reg::BlkSizeCnt => r.BLKSIZECNT.get(),
            Reg::Arg1 => r.ARG1.get(),
            Reg::CmdTm => r.CMDTM.get(),
            Reg::Resp0 => r.RESP0.get(),
            Reg::Resp1 => r.RESP1.get(),
            Reg::Resp2 => r.RESP2.get(),
            Reg::Resp3 => r.RESP3.get(),
            Reg::Data => r.DATA.get(),
            Reg::Status => r.STATUS.get(),
            Reg::Control0 => r.CONTROL0.get(),
            Reg::Control1 => r.CONTROL1.get(),
            Reg::Interrupt => r.INTERRUPT.get(),
            Reg::IrptMask => r.IRPT_MASK.get(),
            Reg::IrptEn => r.IRPT_EN.get(),
            Reg::Capabilities0 => r.CAPABILITIES0.get(),
            Reg::SlotIsrVer => r.SLOTISR_VER.get(),
        }
    }

    fn write(&self, reg: Reg, v: u32) {
        let r = &self.regs;
        match reg {
            Reg::BlkSizeCnt => r.BLKSIZECNT.set(v),
            Reg::Arg1 => r.ARG1.set(v),
            Reg::CmdTm => r.CMDTM.set(v),
            Reg::Data => r.DATA.set(v),
            Reg::Control0 => r.CONTROL0.set(v),
            Reg::Control1 => r.CONTROL1.set(v),
            Reg::Interrupt => r.INTERRUPT.set(v),
            Reg::IrptMask => r.IRPT_MASK.set(v),
            Reg::IrptEn => r.IRPT_EN.set(v),
            // Read-only registers: a write is a driver bug the model catches.
            Reg::Resp0 | Reg::Resp1 | Reg::Resp2 | Reg::Resp3 | Reg::Status | Reg::Capabilities0 | Reg::SlotIsrVer => {}
        }
    }
}

/// Bits of the registers, as the SDHCI specification names them.
pub mod bits {
    // CMDTM: transfer mode (low half), command (high half).
    pub const TM_BLKCNT_EN: u32 = 1 << 1;
    pub const TM_AUTO_CMD12: u32 = 1 << 2;
    pub const TM_DAT_DIR_READ: u32 = 1 << 4;
    pub const TM_MULTI_BLOCK: u32 = 1 << 5;
    pub const CMD_RSPNS_NONE: u32 = 0 << 16;
    pub const CMD_RSPNS_136: u32 = 1 << 16;
    pub const CMD_RSPNS_48: u32 = 2 << 16;
    pub const CMD_RSPNS_48_BUSY: u32 = 3 << 16;
    pub const CMD_CRCCHK_EN: u32 = 1 << 19;
    pub const CMD_IXCHK_EN: u32 = 1 << 20;
    pub const CMD_ISDATA: u32 = 1 << 21;
    pub const CMD_INDEX_SHIFT: u32 = 24;

    // STATUS (present state).
    pub const ST_CMD_INHIBIT: u32 = 1 << 0;
    pub const ST_DAT_INHIBIT: u32 = 1 << 1;
    pub const ST_CARD_INSERTED: u32 = 1 << 16;

    // CONTROL0: host control (byte 0), power control (byte 1).
    pub const C0_DATA_WIDTH_4: u32 = 1 << 1;
    pub const C0_BUS_POWER: u32 = 1 << 8;
    pub const C0_VOLTAGE_3V3: u32 = 7 << 9;

    // CONTROL1: clock control (low half), timeout (byte 2), resets (byte 3).
    pub const C1_CLK_INTLEN: u32 = 1 << 0;
    pub const C1_CLK_STABLE: u32 = 1 << 1;
    pub const C1_CLK_EN: u32 = 1 << 2;
    pub const C1_DATA_TOUNIT_MAX: u32 = 0xe << 16;
    pub const C1_SRST_HC: u32 = 1 << 24;
    pub const C1_SRST_CMD: u32 = 1 << 25;
    pub const C1_SRST_DATA: u32 = 1 << 26;

    // INTERRUPT: normal (low half), error (high half).
    pub const INT_CMD_DONE: u32 = 1 << 0;
    pub const INT_DATA_DONE: u32 = 1 << 1;
    pub const INT_WRITE_RDY: u32 = 1 << 4;
    pub const INT_READ_RDY: u32 = 1 << 5;
    pub const INT_ERR: u32 = 1 << 15;
    pub const INT_CMD_TIMEOUT: u32 = 1 << 16;
    pub const INT_CMD_CRC: u32 = 1 << 17;
    pub const INT_CMD_END: u32 = 1 << 18;
    pub const INT_CMD_INDEX: u32 = 1 << 19;
    pub const INT_DATA_TIMEOUT: u32 = 1 << 20;
    pub const INT_DATA_CRC: u32 = 1 << 21;
    pub const INT_DATA_END: u32 = 1 << 22;
    pub const INT_AUTO_CMD: u32 = 1 << 24;
    pub const INT_ERROR_MASK: u32 = 0xffff_0000;
}

use bits::*;

/// The size of a card block.
pub const BLOCK_SIZE: usize = 512;

/// Why an SD operation failed; the kernel reports every one as EIO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdError {
    /// No card in the slot.
    NoCard,
    /// The controller did not reset or its clock did not stabilise.
    HostNotReady,
    /// A command got no answer in time (`cmd`: its index).
    Timeout { cmd: u32 },
    /// A data transfer did not finish in time.
    DataTimeout { cmd: u32 },
    /// A CRC, end-bit or index error on a command or its data.
    Crc { cmd: u32, status: u32 },
    /// Any other error the controller reported.
    Error { cmd: u32, status: u32 },
    /// The card answered CMD8 or ACMD41 with something no supported card says.
    Unusable,
    /// A transfer outside the card or a buffer that is not whole blocks.
    BadRange,
}

/// What the caller supplies: a clock and a way to wait.
pub trait SdEnv {
    /// Microseconds since some fixed point.
    fn now_us(&self) -> u64;
    /// Called between looks at a status register: lets others run.
    fn relax(&self);
    /// Waits until the controller's interrupt (armed by the caller) has
    /// come, or about `timeout_us` have passed. Without interrupts (the
    /// register model of the unit tests), a [`SdEnv::relax`].
    fn wait_irq(&self, _timeout_us: u64) {
        self.relax();
    }
}

/// What initialisation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardInfo {
    /// Relative card address.
    pub rca: u32,
    /// Block addressing (SDHC/SDXC) rather than byte addressing (SDSC).
    pub high_capacity: bool,
    /// Capacity in 512-byte blocks.
    pub blocks: u64,
    /// The product name from the CID.
    pub name: [u8; 5],
}

/// Bounds of the waits.
const CMD_TIMEOUT_US: u64 = 100_000;
const DATA_TIMEOUT_US: u64 = 1_000_000;
const RESET_TIMEOUT_US: u64 = 100_000;
const ACMD41_TIMEOUT_US: u64 = 1_000_000;

/// Card status bits of an R1 response that mean this command failed
/// (out of range, address, block length, erase, write protect, lock, ECC,
/// controller and general errors, CSD overwrite, erase skip, AKE).
const R1_ERRORS: u32 = 0xfd39_8008;

/// How a command's response is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resp {
    None,
    R1,
    R1b,
    R2,
    R3,
    R6,
    R7,
}

impl Resp {
    fn cmdtm_bits(self) -> u32 {
        match self {
            Resp::None => CMD_RSPNS_NONE,
            Resp::R2 => CMD_RSPNS_136 | CMD_CRCCHK_EN,
            Resp::R3 => CMD_RSPNS_48,
            Resp::R1b => CMD_RSPNS_48_BUSY | CMD_CRCCHK_EN | CMD_IXCHK_EN,
            Resp::R1 | Resp::R6 | Resp::R7 => CMD_RSPNS_48 | CMD_CRCCHK_EN | CMD_IXCHK_EN,
        }
    }
}

/// Direction of a data transfer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// An SDHCI host with (after [`Sdhci::init`]) one card.
pub struct Sdhci<R: HostRegs> {
    regs: R,
    /// The base clock in Hz when the capabilities register has none.
    fallback_base_hz: u32,
    card: Option<CardInfo>,
}

impl<R: HostRegs> Sdhci<R> {
    /// A host over `regs`; `fallback_base_hz` is the controller's input
    /// clock for controllers whose capabilities register leaves it out
    /// (the firmware's EMMC2 clock on a board).
    pub const fn new(regs: R, fallback_base_hz: u32) -> Self {
        Sdhci { regs, fallback_base_hz, card: None }
    }

    /// Sets the base clock used when the capabilities register has none.
    pub fn set_fallback_base_hz(&mut self, hz: u32) {
        self.fallback_base_hz = hz;
    }

    /// The card found by [`Sdhci::init`].
    pub fn card(&self) -> Option<CardInfo> {
        self.card
    }

    /// Resets the host, powers the slot and brings the card to the
    /// transfer state (Linux: `sdhci_init` + `mmc_sd_init_card`).
    pub fn init(&mut self, env: &dyn SdEnv) -> Result<CardInfo, SdError> {
        self.card = None;
        self.regs.write(Reg::Control1, C1_SRST_HC);
        self.wait_clear(Reg::Control1, C1_SRST_HC, RESET_TIMEOUT_US, env).map_err(|_| SdError::HostNotReady)?;
        // Status bits latch; interrupt signals stay off until a wait arms
        // them (see the module docs). Enabling the card-insertion status comes before the look at
        // the card-present bit: QEMU reports a card present at power-on
        // only after that (its "pending insert" quirk).
        self.regs.write(Reg::IrptEn, 0);
        self.regs.write(Reg::IrptMask, 0xffff_ffff);
        if self.regs.read(Reg::Status) & ST_CARD_INSERTED == 0 {
            return Err(SdError::NoCard);
        }
        self.regs.write(Reg::Interrupt, 0xffff_ffff);
        self.regs.write(Reg::Control0, C0_BUS_POWER | C0_VOLTAGE_3V3);
        self.set_clock(400_000, env)?;

        self.command(0, 0, Resp::None, env)?;
        // CMD8: 2.7-3.6 V and the check pattern; a v1 card does not answer.
        let v2 = match self.command(8, 0x1aa, Resp::R7, env) {
            Ok(r) if r & 0xfff == 0x1aa => true,
            Ok(_) => return Err(SdError::Unusable),
            Err(SdError::Timeout { .. }) => {
                self.reset_line(C1_SRST_CMD, env)?;
                false
            }
            Err(e) => return Err(e),
        };
        // ACMD41 until the card leaves its power-up (OCR bit 31).
        let hcs = if v2 { 1 << 30 } else { 0 };
        let start = env.now_us();
        let ocr = loop {
            self.command(55, 0, Resp::R1, env)?;
            let ocr = self.command(41, hcs | 0x00ff_8000, Resp::R3, env)?;
            if ocr & (1 << 31) != 0 {
                break ocr;
            }
            if env.now_us().saturating_sub(start) > ACMD41_TIMEOUT_US {
                return Err(SdError::Timeout { cmd: 41 });
            }
            env.relax();
        };
        let high_capacity = v2 && ocr & (1 << 30) != 0;
        self.command(2, 0, Resp::R2, env)?;
        let cid = self.response136();
        let rca = self.command(3, 0, Resp::R6, env)? & 0xffff_0000;
        self.command(9, rca, Resp::R2, env)?;
        let blocks = csd_blocks(&self.response136()).ok_or(SdError::Unusable)?;
        self.command(7, rca, Resp::R1b, env)?;
        self.command(55, rca, Resp::R1, env)?;
        self.command(6, 2, Resp::R1, env)?;
        self.regs.write(Reg::Control0, self.regs.read(Reg::Control0) | C0_DATA_WIDTH_4);
        if !high_capacity {
            self.command(16, BLOCK_SIZE as u32, Resp::R1, env)?;
        }
        self.set_clock(25_000_000, env)?;
        let card = CardInfo { rca, high_capacity, blocks, name: cid_name(&cid) };
        self.card = Some(card);
        Ok(card)
    }

    /// Reads whole blocks from `lba` into `buf` (CMD17, or CMD18 with
    /// auto-CMD12).
    pub fn read_blocks(&mut self, lba: u64, buf: &mut [u8], env: &dyn SdEnv) -> Result<(), SdError> {
        let count = self.check_range(lba, buf.len())?;
        let cmd = if count == 1 { 17 } else { 18 };
        self.data_command(cmd, lba, count, Dir::Read, env)?;
        for block in buf.chunks_exact_mut(BLOCK_SIZE) {
            if let Err(e) = self.wait_int(INT_READ_RDY, DATA_TIMEOUT_US, cmd, env) {
                self.recover(env);
                return Err(e);
            }
            self.regs.write(Reg::Interrupt, INT_READ_RDY);
            for word in block.chunks_exact_mut(4) {
                word.copy_from_slice(&self.regs.read(Reg::Data).to_le_bytes());
            }
        }
        self.finish_data(cmd, env)
    }

    /// Writes whole blocks from `buf` at `lba` (CMD24, or CMD25 with
    /// auto-CMD12).
    pub fn write_blocks(&mut self, lba: u64, buf: &[u8], env: &dyn SdEnv) -> Result<(), SdError> {
        let count = self.check_range(lba, buf.len())?;
        let cmd = if count == 1 { 24 } else { 25 };
        self.data_command(cmd, lba, count, Dir::Write, env)?;
        for block in buf.chunks_exact(BLOCK_SIZE) {
            if let Err(e) = self.wait_int(INT_WRITE_RDY, DATA_TIMEOUT_US, cmd, env) {
                self.recover(env);
                return Err(e);
            }
            self.regs.write(Reg::Interrupt, INT_WRITE_RDY);
            for word in block.chunks_exact(4) {
                self.regs.write(Reg::Data, u32::from_le_bytes([word[0], word[1], word[2], word[3]]));
            }
        }
        self.finish_data(cmd, env)
    }

    fn check_range(&self, lba: u64, len: usize) -> Result<u32, SdError> {
        let card = self.card.ok_or(SdError::NoCard)?;
        if len == 0 || !len.is_multiple_of(BLOCK_SIZE) || len / BLOCK_SIZE > 0xffff {
            return Err(SdError::BadRange);
        }
        let count = (len / BLOCK_SIZE) as u32;
        if lba.checked_add(count as u64).is_none_or(|end| end > card.blocks) {
            return Err(SdError::BadRange);
        }
        Ok(count)
    }

    /// Sends a data command for `count` blocks at `lba`.
    fn data_command(&mut self, cmd: u32, lba: u64, count: u32, dir: Dir, env: &dyn SdEnv) -> Result<(), SdError> {
        let card = self.card.ok_or(SdError::NoCard)?;
        let arg = if card.high_capacity { lba } else { lba * BLOCK_SIZE as u64 };
        let arg = u32::try_from(arg).map_err(|_| SdError::BadRange)?;
        self.wait_clear(Reg::Status, ST_CMD_INHIBIT | ST_DAT_INHIBIT, CMD_TIMEOUT_US, env)
            .map_err(|_| SdError::Timeout { cmd })?;
        self.regs.write(Reg::BlkSizeCnt, (count << 16) | BLOCK_SIZE as u32);
        let mut tm = CMD_ISDATA | TM_BLKCNT_EN;
        if count > 1 {
            tm |= TM_MULTI_BLOCK | TM_AUTO_CMD12;
        }
        if dir == Dir::Read {
            tm |= TM_DAT_DIR_READ;
        }
        if let Err(e) = self.issue(cmd, arg, Resp::R1, tm, env) {
            self.recover(env);
            return Err(e);
        }
        Ok(())
    }

    /// Waits for the end of a data transfer; on error, resets the lines.
    fn finish_data(&mut self, cmd: u32, env: &dyn SdEnv) -> Result<(), SdError> {
        match self.wait_int(INT_DATA_DONE, DATA_TIMEOUT_US, cmd, env) {
            Ok(()) => {
                self.regs.write(Reg::Interrupt, INT_DATA_DONE);
                Ok(())
            }
            Err(e) => {
                self.recover(env);
                Err(e)
            }
        }
    }

    /// After a failed transfer: stop the card's transfer (CMD12, whose own
    /// failure is no news) and reset both lines, so the next command starts clean.
    fn recover(&mut self, env: &dyn SdEnv) {
        let _ = self.reset_line(C1_SRST_CMD | C1_SRST_DATA, env);
        self.regs.write(Reg::Interrupt, 0xffff_ffff);
        if self.command(12, 0, Resp::R1b, env).is_err() {
            let _ = self.reset_line(C1_SRST_CMD | C1_SRST_DATA, env);
        }
        self.regs.write(Reg::Interrupt, 0xffff_ffff);
    }

    /// A command without data; returns RESP0.
    fn command(&mut self, cmd: u32, arg: u32, resp: Resp, env: &dyn SdEnv) -> Result<u32, SdError> {
        self.wait_clear(Reg::Status, ST_CMD_INHIBIT, CMD_TIMEOUT_US, env).map_err(|_| SdError::Timeout { cmd })?;
        let r = self.issue(cmd, arg, resp, 0, env);
        if resp == Resp::R1b {
            // The busy signal holds DAT0 until the card is done.
            self.wait_clear(Reg::Status, ST_DAT_INHIBIT, DATA_TIMEOUT_US, env)
                .map_err(|_| SdError::DataTimeout { cmd })?;
            self.regs.write(Reg::Interrupt, INT_DATA_DONE);
        }
        r
    }

    /// Writes the argument and CMDTM, waits for the command's completion.
    fn issue(&mut self, cmd: u32, arg: u32, resp: Resp, tm: u32, env: &dyn SdEnv) -> Result<u32, SdError> {
        self.regs.write(Reg::Interrupt, 0xffff_ffff);
        self.regs.write(Reg::Arg1, arg);
        self.regs.write(Reg::CmdTm, (cmd << CMD_INDEX_SHIFT) | resp.cmdtm_bits() | tm);
        self.wait_int(INT_CMD_DONE, CMD_TIMEOUT_US, cmd, env)?;
        self.regs.write(Reg::Interrupt, INT_CMD_DONE);
        let r = self.regs.read(Reg::Resp0);
        // R1/R1b/R6 carry card status: error bits are a failure of the
        // command. ILLEGAL_COMMAND and COM_CRC_ERROR describe the command
        // before (a v1 card's unanswered CMD8), so they are left out.
        let errors = match resp {
            Resp::R1 | Resp::R1b => r & R1_ERRORS,
            Resp::R6 => r & 0xe000,
            _ => 0,
        };
        if errors != 0 {
            return Err(SdError::Error { cmd, status: r });
        }
        Ok(r)
    }

    /// Waits for `bit` in INTERRUPT, or an error bit, or the deadline,
    /// sleeping on the interrupt between looks.
    fn wait_int(&mut self, bit: u32, timeout_us: u64, cmd: u32, env: &dyn SdEnv) -> Result<(), SdError> {
        let r = self.wait_int_armed(bit, timeout_us, cmd, env);
        disarm(&self.regs);
        r
    }

    fn wait_int_armed(&mut self, bit: u32, timeout_us: u64, cmd: u32, env: &dyn SdEnv) -> Result<(), SdError> {
        let start = env.now_us();
        loop {
            // Armed before the look (the handler disarms): an event after
            // the look raises the interrupt that ends `wait_irq`.
            self.regs.write(Reg::IrptEn, bit | INT_ERROR_MASK);
            let st = self.regs.read(Reg::Interrupt);
            if st & (INT_ERROR_MASK | INT_ERR) != 0 {
                self.regs.write(Reg::Interrupt, st & (INT_ERROR_MASK | INT_ERR));
                if st & INT_CMD_TIMEOUT != 0 {
                    self.reset_line(C1_SRST_CMD, env)?;
                    return Err(SdError::Timeout { cmd });
                }
                if st & INT_DATA_TIMEOUT != 0 {
                    return Err(SdError::DataTimeout { cmd });
                }
                let status = st >> 16;
                if st & (INT_CMD_CRC | INT_CMD_END | INT_CMD_INDEX | INT_DATA_CRC | INT_DATA_END) != 0 {
                    return Err(SdError::Crc { cmd, status });
                }
                return Err(SdError::Error { cmd, status });
            }
            if st & bit != 0 {
                return Ok(());
            }
            let waited = env.now_us().saturating_sub(start);
            if waited > timeout_us {
                return Err(if bit == INT_CMD_DONE { SdError::Timeout { cmd } } else { SdError::DataTimeout { cmd } });
            }
            env.wait_irq(timeout_us - waited);
        }
    }

    /// Waits for `mask` in `reg` to clear.
    fn wait_clear(&self, reg: Reg, mask: u32, timeout_us: u64, env: &dyn SdEnv) -> Result<(), ()> {
        let start = env.now_us();
        while self.regs.read(reg) & mask != 0 {
            if env.now_us().saturating_sub(start) > timeout_us {
                return Err(());
            }
            env.relax();
        }
        Ok(())
    }

    fn reset_line(&self, which: u32, env: &dyn SdEnv) -> Result<(), SdError> {
        self.regs.write(Reg::Control1, self.regs.read(Reg::Control1) | which);
        self.wait_clear(Reg::Control1, which, RESET_TIMEOUT_US, env).map_err(|_| SdError::HostNotReady)
    }

    /// The card clock: at most `hz`, from the base clock (capabilities bits
    /// 15:8 in MHz, or the fallback) by SDHCI 3.0's 10-bit divider.
    fn set_clock(&mut self, hz: u32, env: &dyn SdEnv) -> Result<(), SdError> {
        let caps_mhz = (self.regs.read(Reg::Capabilities0) >> 8) & 0xff;
        let base = if caps_mhz != 0 { caps_mhz * 1_000_000 } else { self.fallback_base_hz };
        let div = clock_divider(base, hz);
        let c1 = self.regs.read(Reg::Control1) & !(0xffff | (0xf << 16));
        let c1 = c1 | C1_DATA_TOUNIT_MAX | ((div & 0xff) << 8) | (((div >> 8) & 3) << 6);
        self.regs.write(Reg::Control1, c1);
        self.regs.write(Reg::Control1, c1 | C1_CLK_INTLEN);
        let start = env.now_us();
        while self.regs.read(Reg::Control1) & C1_CLK_STABLE == 0 {
            if env.now_us().saturating_sub(start) > RESET_TIMEOUT_US {
                return Err(SdError::HostNotReady);
            }
            env.relax();
        }
        self.regs.write(Reg::Control1, c1 | C1_CLK_INTLEN | C1_CLK_EN);
        Ok(())
    }

    /// The 120 bits of a long response (CRC stripped), RESP0 lowest.
    fn response136(&self) -> [u32; 4] {
        [self.regs.read(Reg::Resp0), self.regs.read(Reg::Resp1), self.regs.read(Reg::Resp2), self.regs.read(Reg::Resp3)]
    }
}

/// SDHCI 3.0's 10-bit divider N for a clock of at most `hz` from `base`
/// (the clock is base / 2N, or base for N = 0).
pub fn clock_divider(base: u32, hz: u32) -> u32 {
    if hz == 0 || base <= hz {
        return 0;
    }
    base.div_ceil(2 * hz).min(0x3ff)
}

/// Bits `hi..=lo` of a 128-bit register as SDHCI stores a long response
/// (the card's bits 127:8 in RESP3..RESP0 bits 119:0).
fn resp_bits(r: &[u32; 4], hi: u32, lo: u32) -> u32 {
    let mut v = 0u64;
    for bit in (lo..=hi).rev() {
        let b = bit - 8;
        v = (v << 1) | ((r[(b / 32) as usize] >> (b % 32)) & 1) as u64;
    }
    v as u32
}

/// The capacity in 512-byte blocks from a CSD (version 1.0 or 2.0).
pub fn csd_blocks(r: &[u32; 4]) -> Option<u64> {
    match resp_bits(r, 127, 126) {
        0 => {
            let c_size = resp_bits(r, 73, 62) as u64;
            let mult = resp_bits(r, 49, 47) as u64;
            let bl_len = resp_bits(r, 83, 80) as u64;
            if !(9..=11).contains(&bl_len) {
                return None;
            }
            Some(((c_size + 1) << (mult + 2)) << bl_len >> 9)
        }
        1 => Some((resp_bits(r, 69, 48) as u64 + 1) * 1024),
        _ => None,
    }
}

/// The product name (CID bits 103:64).
fn cid_name(r: &[u32; 4]) -> [u8; 5] {
    let mut name = [0u8; 5];
    for (i, c) in name.iter_mut().enumerate() {
        let hi = 103 - 8 * i as u32;
        *c = resp_bits(r, hi, hi - 7) as u8;
    }
    name
}

#[cfg(test)]
mod tests;
