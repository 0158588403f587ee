//! The SD protocol against a register model: an SDHCI controller with a
//! card behind it, answering commands as the SD specification says, with
//! faults to inject (no card, a v1 card, a command timing out, a data CRC
//! error in the middle of a transfer, a card that never powers up).

use super::*;
use std::cell::{Cell, RefCell};
use std::vec::Vec;

/// A command as the model saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sent {
    cmd: u32,
    arg: u32,
    cmdtm: u32,
}

#[derive(Default)]
struct State {
    blksizecnt: u32,
    arg1: u32,
    resp: [u32; 4],
    control0: u32,
    control1: u32,
    interrupt: u32,
    inserted: bool,
    v1: bool,
    high_capacity: bool,
    /// The card said CCS: arguments are block numbers.
    block_addressing: bool,
    /// ACMD41 answers busy this many times (u32::MAX: forever).
    busy_rounds: u32,
    app_cmd: bool,
    /// Inject: a command index that fails with these INTERRUPT bits.
    fail_cmd: Option<(u32, u32)>,
    /// Inject: a command index the controller takes and never completes.
    swallow_cmd: Option<u32>,
    /// Inject: the block (absolute) whose data has a CRC error.
    crc_error_block: Option<u64>,
    sent: Vec<Sent>,
    disk: Vec<u8>,
    // The transfer in progress.
    pos: u64,
    remaining: u32,
    word: usize,
    reading: bool,
    in_transfer: bool,
    auto_cmd12: bool,
    auto_cmd12_sent: u32,
}

struct Model {
    s: RefCell<State>,
}

impl Model {
    fn new(blocks: usize) -> Model {
        let disk = (0..blocks * BLOCK_SIZE).map(|i| (i * 7 + i / 512) as u8).collect();
        Model {
            s: RefCell::new(State { inserted: true, high_capacity: true, busy_rounds: 2, disk, ..State::default() }),
        }
    }

    fn cmds(&self) -> Vec<u32> {
        self.s.borrow().sent.iter().map(|s| s.cmd).collect()
    }

    fn execute(s: &mut State, cmdtm: u32) {
        let cmd = cmdtm >> CMD_INDEX_SHIFT & 0x3f;
        let arg = s.arg1;
        s.sent.push(Sent { cmd, arg, cmdtm });
        let app = core::mem::take(&mut s.app_cmd);
        if !s.inserted {
            s.interrupt |= INT_CMD_TIMEOUT | INT_ERR;
            return;
        }
        if s.swallow_cmd == Some(cmd) {
            return;
        }
        if let Some((c, bits)) = s.fail_cmd {
            if c == cmd {
                s.interrupt |= bits | INT_ERR;
                return;
            }
        }
        let status = 4 << 9; // current state: tran
        let mut r0 = status;
        match cmd {
            0 => r0 = 0,
            8 if s.v1 => {
                s.interrupt |= INT_CMD_TIMEOUT | INT_ERR;
                return;
            }
            8 => r0 = arg & 0xfff,
            55 => {
                s.app_cmd = true;
                r0 = status | 1 << 5;
            }
            41 if app => {
                let ready = if s.busy_rounds == 0 {
                    true
                } else {
                    s.busy_rounds = s.busy_rounds.saturating_sub(1);
                    false
                };
                let ccs = if s.high_capacity && arg & 1 << 30 != 0 { 1 << 30 } else { 0 };
                s.block_addressing = ready && ccs != 0;
                r0 = 0x00ff_8000 | if ready { 1 << 31 | ccs } else { 0 };
            }
            2 => {
                // CID: manufacturer 3, product name "MODEL" at bits 103:64.
                let mut cid = [0u32; 4];
                for (i, c) in b"MODEL".iter().enumerate() {
                    let bit = 96 - 8 * i as u32; // the character's lowest bit in the card's numbering
                    let b = bit - 8;
                    cid[(b / 32) as usize] |= (*c as u32) << (b % 32);
                }
                s.resp = cid;
                s.interrupt |= INT_CMD_DONE;
                return;
            }
            3 => r0 = 0x4567 << 16,
            9 => {
                s.resp = csd_v2((s.disk.len() / BLOCK_SIZE) as u64);
                s.interrupt |= INT_CMD_DONE;
                return;
            }
            6 | 7 | 16 => {}
            12 => s.in_transfer = false,
            17 | 18 | 24 | 25 => {
                let lba = if s.block_addressing { arg as u64 } else { arg as u64 / 512 };
                s.pos = lba;
                s.remaining = if cmd == 17 || cmd == 24 { 1 } else { s.blksizecnt >> 16 };
                s.word = 0;
                s.reading = cmd == 17 || cmd == 18;
                s.in_transfer = true;
                s.auto_cmd12 = cmdtm & TM_AUTO_CMD12 != 0;
                Self::next_block(s);
            }
            _ => {
                s.interrupt |= INT_CMD_TIMEOUT | INT_ERR;
                return;
            }
        }
        s.resp[0] = r0;
        s.interrupt |= INT_CMD_DONE;
    }

    fn next_block(s: &mut State) {
        if s.remaining == 0 {
            s.in_transfer = false;
            if s.auto_cmd12 {
                s.auto_cmd12_sent += 1;
            }
            s.interrupt |= INT_DATA_DONE;
            return;
        }
        if s.crc_error_block == Some(s.pos) {
            s.interrupt |= INT_DATA_CRC | INT_ERR;
            s.in_transfer = false;
            return;
        }
        s.interrupt |= if s.reading { INT_READ_RDY } else { INT_WRITE_RDY };
    }

    fn data_word(s: &mut State, write: Option<u32>) -> u32 {
        if !s.in_transfer {
            return 0;
        }
        let at = s.pos as usize * BLOCK_SIZE + s.word * 4;
        let v = match write {
            Some(w) => {
                s.disk[at..at + 4].copy_from_slice(&w.to_le_bytes());
                0
            }
            None => u32::from_le_bytes(s.disk[at..at + 4].try_into().unwrap()),
        };
        s.word += 1;
        if s.word == BLOCK_SIZE / 4 {
            s.word = 0;
            s.pos += 1;
            s.remaining -= 1;
            Self::next_block(s);
        }
        v
    }
}

/// A version 2.0 CSD for `blocks` 512-byte blocks, as RESP0..3 hold it.
fn csd_v2(blocks: u64) -> [u32; 4] {
    let mut r = [0u32; 4];
    let mut set = |bit: u32, v: u32| {
        let b = bit - 8;
        r[(b / 32) as usize] |= v << (b % 32);
    };
    set(126, 1);
    let c_size = (blocks / 1024 - 1) as u32;
    for i in 0..22 {
        set(48 + i, (c_size >> i) & 1);
    }
    r
}

impl HostRegs for Model {
    fn read(&self, reg: Reg) -> u32 {
        let mut s = self.s.borrow_mut();
        match reg {
            Reg::BlkSizeCnt => s.blksizecnt,
            Reg::Arg1 => s.arg1,
            Reg::CmdTm => 0,
            Reg::Resp0 => s.resp[0],
            Reg::Resp1 => s.resp[1],
            Reg::Resp2 => s.resp[2],
            Reg::Resp3 => s.resp[3],
            Reg::Data => Model::data_word(&mut s, None),
            Reg::Status => {
                let mut st = if s.inserted { ST_CARD_INSERTED } else { 0 };
                if s.in_transfer {
                    st |= ST_DAT_INHIBIT;
                }
                st
            }
            Reg::Control0 => s.control0,
            Reg::Control1 => s.control1,
            Reg::Interrupt => s.interrupt,
            Reg::IrptMask | Reg::IrptEn => 0,
            // 52 MHz base clock, as QEMU's capareg says.
            Reg::Capabilities0 => 0x34 << 8,
            Reg::SlotIsrVer => 0x0002_0000,
        }
    }

    fn write(&self, reg: Reg, v: u32) {
        let mut s = self.s.borrow_mut();
        match reg {
            Reg::BlkSizeCnt => s.blksizecnt = v,
            Reg::Arg1 => s.arg1 = v,
            Reg::CmdTm => Model::execute(&mut s, v),
            Reg::Data => {
                Model::data_word(&mut s, Some(v));
            }
            Reg::Control0 => s.control0 = v,
            Reg::Control1 => {
                // Resets complete at once; an enabled clock is stable.
                let mut c = v & !(C1_SRST_HC | C1_SRST_CMD | C1_SRST_DATA);
                if c & C1_CLK_INTLEN != 0 {
                    c |= C1_CLK_STABLE;
                }
                if v & (C1_SRST_HC | C1_SRST_DATA) != 0 {
                    s.in_transfer = false;
                }
                s.control1 = c;
            }
            Reg::Interrupt => s.interrupt &= !v,
            Reg::IrptMask | Reg::IrptEn => {}
            r => panic!("the driver wrote the read-only register {r:?}"),
        }
    }
}

/// A clock that advances 10 us per look.
struct FakeEnv {
    t: Cell<u64>,
}

impl SdEnv for FakeEnv {
    fn now_us(&self) -> u64 {
        self.t.set(self.t.get() + 10);
        self.t.get()
    }
    fn relax(&self) {}
}

fn env() -> FakeEnv {
    FakeEnv { t: Cell::new(0) }
}

const BLOCKS: usize = 4096;

#[test]
fn init_sends_the_sd_initialisation_sequence() {
    let mut host = Sdhci::new(Model::new(BLOCKS), 0);
    let card = host.init(&env()).unwrap();
    assert_eq!(host.regs.cmds(), [0, 8, 55, 41, 55, 41, 55, 41, 2, 3, 9, 7, 55, 6]);
    let s = host.regs.s.borrow();
    assert_eq!(s.sent[1].arg, 0x1aa, "CMD8 carries the voltage range and check pattern");
    assert_ne!(s.sent[3].arg & 1 << 30, 0, "ACMD41 asks for high capacity (HCS)");
    assert_eq!(s.sent[11].arg, 0x4567 << 16, "CMD7 selects the card by its RCA");
    assert_eq!(s.sent[13].arg, 2, "ACMD6 asks for a 4-bit bus");
    assert_ne!(s.control0 & C0_DATA_WIDTH_4, 0, "the host switched to 4 bits too");
    assert_eq!(card, CardInfo { rca: 0x4567 << 16, high_capacity: true, blocks: BLOCKS as u64, name: *b"MODEL" });
    // 25 MHz from 52 MHz: divider 2 (13 MHz would be 52/4); the SD clock is on.
    assert_eq!(s.control1 >> 8 & 0xff, 2);
    assert_ne!(s.control1 & C1_CLK_EN, 0);
}

#[test]
fn a_v1_card_is_byte_addressed_and_gets_cmd16() {
    let model = Model::new(BLOCKS);
    model.s.borrow_mut().v1 = true;
    let mut host = Sdhci::new(model, 0);
    let card = host.init(&env()).unwrap();
    assert!(!card.high_capacity);
    assert_eq!(host.regs.s.borrow().sent[3].arg & 1 << 30, 0, "no HCS for a card that did not answer CMD8");
    assert_eq!(*host.regs.cmds().last().unwrap(), 16);
    let mut buf = [0u8; 512];
    host.read_blocks(3, &mut buf, &env()).unwrap();
    assert_eq!(host.regs.s.borrow().sent.last().unwrap().arg, 3 * 512, "byte address");
    assert_eq!(&buf[..], &host.regs.s.borrow().disk[3 * 512..4 * 512]);
}

#[test]
fn no_card_is_reported_not_waited_for() {
    let model = Model::new(BLOCKS);
    model.s.borrow_mut().inserted = false;
    let mut host = Sdhci::new(model, 0);
    assert_eq!(host.init(&env()), Err(SdError::NoCard));
    let mut buf = [0u8; 512];
    assert_eq!(host.read_blocks(0, &mut buf, &env()), Err(SdError::NoCard));
}

#[test]
fn a_card_that_stays_busy_times_out_in_acmd41() {
    let model = Model::new(BLOCKS);
    model.s.borrow_mut().busy_rounds = u32::MAX;
    let mut host = Sdhci::new(model, 0);
    assert_eq!(host.init(&env()), Err(SdError::Timeout { cmd: 41 }));
}

#[test]
fn single_and_multi_block_transfers_round_trip() {
    let mut host = Sdhci::new(Model::new(BLOCKS), 0);
    host.init(&env()).unwrap();
    let e = env();
    let data: Vec<u8> = (0..3 * 512).map(|i| (i % 251) as u8).collect();
    host.write_blocks(100, &data, &e).unwrap();
    let last = *host.regs.s.borrow().sent.last().unwrap();
    assert_eq!(last.cmd, 25);
    assert_eq!(last.arg, 100, "block address");
    assert_ne!(last.cmdtm & TM_AUTO_CMD12, 0);
    assert_ne!(last.cmdtm & TM_MULTI_BLOCK, 0);
    assert_eq!(host.regs.s.borrow().blksizecnt, 3 << 16 | 512);
    assert_eq!(&host.regs.s.borrow().disk[100 * 512..103 * 512], &data[..]);

    let mut back = vec![0u8; 3 * 512];
    host.read_blocks(100, &mut back, &e).unwrap();
    assert_eq!(back, data);
    assert_eq!(host.regs.s.borrow().sent.last().unwrap().cmd, 18);
    assert_eq!(host.regs.s.borrow().auto_cmd12_sent, 2, "both multi-block transfers ended with auto-CMD12");

    let mut one = [0u8; 512];
    host.read_blocks(101, &mut one, &e).unwrap();
    assert_eq!(host.regs.s.borrow().sent.last().unwrap().cmd, 17);
    assert_eq!(&one[..], &data[512..1024]);
    host.write_blocks(7, &one, &e).unwrap();
    assert_eq!(host.regs.s.borrow().sent.last().unwrap().cmd, 24);
}

#[test]
fn transfers_outside_the_card_or_of_partial_blocks_are_refused() {
    let mut host = Sdhci::new(Model::new(BLOCKS), 0);
    host.init(&env()).unwrap();
    let sent = host.regs.s.borrow().sent.len();
    let mut buf = vec![0u8; 1024];
    assert_eq!(host.read_blocks(BLOCKS as u64 - 1, &mut buf, &env()), Err(SdError::BadRange));
    assert_eq!(host.read_blocks(0, &mut buf[..100], &env()), Err(SdError::BadRange));
    assert_eq!(host.read_blocks(u64::MAX, &mut buf, &env()), Err(SdError::BadRange));
    assert_eq!(host.regs.s.borrow().sent.len(), sent, "nothing reached the card");
}

#[test]
fn a_command_timeout_is_an_error_and_the_next_command_works() {
    let mut host = Sdhci::new(Model::new(BLOCKS), 0);
    host.init(&env()).unwrap();
    host.regs.s.borrow_mut().fail_cmd = Some((17, INT_CMD_TIMEOUT));
    let mut buf = [0u8; 512];
    assert_eq!(host.read_blocks(5, &mut buf, &env()), Err(SdError::Timeout { cmd: 17 }));
    host.regs.s.borrow_mut().fail_cmd = None;
    host.read_blocks(5, &mut buf, &env()).unwrap();
    assert_eq!(&buf[..], &host.regs.s.borrow().disk[5 * 512..6 * 512]);
}

#[test]
fn a_data_crc_error_mid_transfer_fails_the_read_and_the_card_recovers() {
    let mut host = Sdhci::new(Model::new(BLOCKS), 0);
    host.init(&env()).unwrap();
    host.regs.s.borrow_mut().crc_error_block = Some(12);
    let mut buf = vec![0u8; 8 * 512];
    assert!(matches!(host.read_blocks(10, &mut buf, &env()), Err(SdError::Crc { cmd: 18, .. })));
    assert!(host.regs.cmds().ends_with(&[18, 12]), "the transfer was stopped with CMD12");
    host.regs.s.borrow_mut().crc_error_block = None;
    host.read_blocks(10, &mut buf, &env()).unwrap();
    assert_eq!(&buf[..], &host.regs.s.borrow().disk[10 * 512..18 * 512]);
}

#[test]
fn a_command_that_never_completes_times_out() {
    let mut host = Sdhci::new(Model::new(BLOCKS), 0);
    host.init(&env()).unwrap();
    host.regs.s.borrow_mut().swallow_cmd = Some(17);
    let mut buf = [0u8; 512];
    assert_eq!(host.read_blocks(1, &mut buf, &env()), Err(SdError::Timeout { cmd: 17 }));
}

#[test]
fn clock_divider_never_exceeds_the_asked_rate() {
    assert_eq!(clock_divider(52_000_000, 400_000), 65); // 52 MHz / 130 = 400 kHz
    assert_eq!(clock_divider(100_000_000, 25_000_000), 2);
    assert_eq!(clock_divider(20_000_000, 25_000_000), 0);
    assert_eq!(clock_divider(200_000_000, 100), 0x3ff);
    for (base, hz) in [(52_000_000u32, 400_000u32), (100_000_000, 400_000), (41_666_666, 25_000_000)] {
        let n = clock_divider(base, hz);
        let out = if n == 0 { base } else { base / (2 * n) };
        assert!(out <= hz, "{base} / {n} = {out} > {hz}");
    }
}

#[test]
fn csd_capacity_of_both_versions() {
    assert_eq!(csd_blocks(&csd_v2(8 * 1024 * 1024)), Some(8 * 1024 * 1024));
    // Version 1.0: C_SIZE 4095, C_SIZE_MULT 7, READ_BL_LEN 10: 2 GiB.
    let mut r = [0u32; 4];
    let mut set = |bit: u32, v: u32| {
        let b = bit - 8;
        r[(b / 32) as usize] |= v << (b % 32);
    };
    for i in 0..12 {
        set(62 + i, 1);
    }
    for i in 0..3 {
        set(47 + i, 1);
    }
    set(81, 1);
    set(83, 1);
    assert_eq!(csd_blocks(&r), Some(2 * 1024 * 1024 * 1024 / 512));
}

/// A controller whose events take time: a latched INTERRUPT bit shows only
/// after the driver has waited for its interrupt, armed, as on a board.
struct Slow {
    model: Model,
    irq: std::rc::Rc<SlowIrq>,
}

#[derive(Default)]
struct SlowIrq {
    /// Status bits the driver may see.
    revealed: Cell<u32>,
    /// The signal enable (IRPT_EN) as last written.
    irpt_en: Cell<u32>,
    /// IRPT_EN at each wait.
    armed_at_wait: RefCell<Vec<u32>>,
}

impl HostRegs for Slow {
    fn read(&self, reg: Reg) -> u32 {
        let v = self.model.read(reg);
        match reg {
            Reg::Interrupt => v & self.irq.revealed.get(),
            Reg::IrptEn => self.irq.irpt_en.get(),
            _ => v,
        }
    }
    fn write(&self, reg: Reg, v: u32) {
        match reg {
            Reg::IrptEn => self.irq.irpt_en.set(v),
            Reg::Interrupt => self.irq.revealed.set(self.irq.revealed.get() & !v),
            _ => {}
        }
        self.model.write(reg, v);
    }
}

struct SlowEnv {
    t: Cell<u64>,
    irq: std::rc::Rc<SlowIrq>,
}

impl SdEnv for SlowEnv {
    fn now_us(&self) -> u64 {
        self.t.set(self.t.get() + 10);
        self.t.get()
    }
    fn relax(&self) {}
    fn wait_irq(&self, _timeout_us: u64) {
        // What happened shows if its interrupt was armed.
        let en = self.irq.irpt_en.get();
        self.irq.armed_at_wait.borrow_mut().push(en);
        self.irq.revealed.set(self.irq.revealed.get() | en);
    }
}

#[test]
fn waits_arm_the_interrupt_before_sleeping_and_disarm_after() {
    let irq = std::rc::Rc::new(SlowIrq::default());
    let env = SlowEnv { t: Cell::new(0), irq: irq.clone() };
    let mut host = Sdhci::new(Slow { model: Model::new(BLOCKS), irq: irq.clone() }, 0);
    host.init(&env).unwrap();
    let mut buf = [0u8; 3 * BLOCK_SIZE];
    host.read_blocks(5, &mut buf, &env).unwrap();
    assert_eq!(&buf[..], &host.regs.model.s.borrow().disk[5 * BLOCK_SIZE..8 * BLOCK_SIZE]);
    let armed = irq.armed_at_wait.borrow();
    // Every command (14 at init, CMD18) and every data block (3, then
    // the end of the transfer) waited at least once.
    let (init_cmds, read_waits) = (14, 1 + 3 + 1);
    assert!(armed.len() >= init_cmds + read_waits, "{} waits", armed.len());
    for en in armed.iter() {
        assert_eq!(en & INT_ERROR_MASK, INT_ERROR_MASK, "errors are armed: {en:#x}");
        assert_ne!(
            en & (INT_CMD_DONE | INT_DATA_DONE | INT_READ_RDY | INT_WRITE_RDY),
            0,
            "the event is armed: {en:#x}"
        );
    }
    assert!(armed.iter().any(|en| en & INT_READ_RDY != 0), "a data block's wait arms read-ready");
    assert_eq!(irq.irpt_en.get(), 0, "no signal is left armed after the transfer");
}
