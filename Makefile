# Raspberry Pi 4 kernel: build, run in QEMU, test.
#   make          build/kernel8.img (raw image) and build/kernel8.elf
#   make run      boot it in qemu-system-aarch64 -M raspi4b, console on this terminal,
#                 with a copy of build/sdcard.img as the SD card (SD=<file>: that
#                 image itself, written by the guest)
#   make test     host unit tests + QEMU system tests + lints (installs what is missing)
#   make clippy   lints, -D warnings, kernel target and host
#   make gdb      QEMU halted, waiting for gdb-multiarch on tcp::1234
#   make sdimage  build/sdcard.img for a real Pi 4 (firmware from Debian);
#                 SD_SIZE_MIB=<power of two, default 64> sets its size
#   make chainload          build/chainload.img, the serial chain-loader
#   make sdimage-chainload  build/sdcard-chainload.img: an SD card that boots the chain-loader
#   make chainboot DEV=/dev/ttyUSB0   send build/kernel8.img to a Pi running the chain-loader
#   make bench    boot-time, scheduler and user-space figures
#   make stress   a ten-minute signal storm (STRESS_SECONDS=...)
#   make profile  instructions per kernel function of one user benchmark
#                 (BENCH=<name>=<iters>, default fork_exit_wait=200)
#   make userland build/rootfs: the user programs and test programs
#   make initramfs  build/initramfs.cpio, linked into the kernel
#   make clean
# Options: PROFILE=release|dev (default release), HZ=<ticks per second>,
#          INITRAMFS_EXTRA=<dir> (extra files for the initramfs, e.g. your own
#          static aarch64 binaries), APPEND="<kernel command line>" for make run,
#          BUSYBOX=0 (an image without Debian's BusyBox; default 1: fetched by
#          scripts/fetch-busybox.sh, ash is the console shell).

TARGET   := aarch64-unknown-none-softfloat
PROFILE  ?= release
BUILD    := build
ELF      := $(BUILD)/kernel8.elf
IMG      := $(BUILD)/kernel8.img
SDIMG    := $(BUILD)/sdcard.img
LOADER   := $(BUILD)/chainload.img
ROOTFS   := $(BUILD)/rootfs
INITRAMFS := $(BUILD)/initramfs.cpio
INITRAMFS_EXTRA ?=
BUSYBOX  ?= 1
DEV      ?= /dev/ttyUSB0
# cargo writes the dev profile's output to debug/.
PROFILE_DIR = $(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
CARGO_OUT = target/$(TARGET)/$(PROFILE_DIR)/kernel8
QEMU     ?= qemu-system-aarch64
QEMU_ARGS = -M raspi4b -kernel $(IMG) -serial stdio -display none -monitor none -no-reboot
SYSROOT   = $(shell rustc --print sysroot)
OBJCOPY   = $(firstword $(wildcard $(SYSROOT)/lib/rustlib/*/bin/llvm-objcopy))

ifeq ($(PROFILE),release)
CARGO_PROFILE := --release
else
CARGO_PROFILE :=
endif

ifdef HZ
export HZ
endif

.PHONY: all setup run test unit-test system-test stress clippy lint fmt gdb bench profile clean sdimage firmware \
	chainload sdimage-chainload chainboot userland initramfs FORCE

all: $(IMG)

setup:
	@bash scripts/setup.sh

userland: FORCE
	@bash scripts/setup.sh
	@bash scripts/build-userland.sh
	@bash scripts/build-tests.sh
	@bash scripts/install-busybox.sh $(ROOTFS) $(BUSYBOX)

initramfs: $(INITRAMFS)
$(INITRAMFS): userland
	@bash scripts/mkinitramfs.sh $(ROOTFS) $(INITRAMFS) $(INITRAMFS_EXTRA)

$(ELF): $(INITRAMFS) FORCE
	@bash scripts/setup.sh
	INITRAMFS_CPIO=$(abspath $(INITRAMFS)) cargo build -p kernel --bin kernel8 --target $(TARGET) $(CARGO_PROFILE)
	@mkdir -p $(BUILD)
	cp $(CARGO_OUT) $(ELF)

$(IMG): $(ELF)
	$(OBJCOPY) -O binary $(ELF) $(IMG)
	@echo "built $(IMG) ($$(stat -c %s $(IMG)) bytes)"

# What `make INITRAMFS_EXTRA=<dir>` gives a user, for the system tests: a
# kernel whose initramfs has a sample directory of "the user's own files" on
# top of build/rootfs (a static program under a new name, a text file, and a
# /bin/uname that replaces the built-in one), built in its own target directory.
EXTRA_DIR := $(BUILD)/extra-sample
EXTRA_IMG := $(BUILD)/kernel8-extra.img
$(EXTRA_IMG): userland FORCE
	@rm -rf $(EXTRA_DIR) && mkdir -p $(EXTRA_DIR)/etc $(EXTRA_DIR)/bin
	@cp $(ROOTFS)/tests/hello $(EXTRA_DIR)/my-hello
	@cp $(ROOTFS)/tests/hello $(EXTRA_DIR)/bin/uname
	@printf 'from INITRAMFS_EXTRA\n' > $(EXTRA_DIR)/etc/greeting
	@bash scripts/mkinitramfs.sh $(ROOTFS) $(BUILD)/initramfs-extra.cpio $(EXTRA_DIR)
	INITRAMFS_CPIO=$(abspath $(BUILD)/initramfs-extra.cpio) CARGO_TARGET_DIR=target/extra \
		cargo build -p kernel --bin kernel8 --target $(TARGET) $(CARGO_PROFILE)
	$(OBJCOPY) -O binary target/extra/$(TARGET)/$(PROFILE_DIR)/kernel8 $(EXTRA_IMG)

# The same kernel built with the dev profile (overflow checks and debug
# assertions on) in its own target directory, for the system tests that
# must also pass where an integer overflow panics.
DEV_IMG := $(BUILD)/kernel8-dev.img
$(DEV_IMG): $(INITRAMFS) FORCE
	INITRAMFS_CPIO=$(abspath $(INITRAMFS)) CARGO_TARGET_DIR=target/dev \
		cargo build -p kernel --bin kernel8 --target $(TARGET)
	$(OBJCOPY) -O binary target/dev/$(TARGET)/debug/kernel8 $(DEV_IMG)

# The kernel without an initramfs (its own target directory, so the two builds
# do not undo each other): small enough for the chain-loader tests, which send
# it through an emulated UART; it boots into the debug monitor.
MIN_IMG := $(BUILD)/kernel8-min.img
$(MIN_IMG): FORCE
	@bash scripts/setup.sh
	CARGO_TARGET_DIR=target/min cargo build -p kernel --bin kernel8 --target $(TARGET) $(CARGO_PROFILE)
	@mkdir -p $(BUILD)
	$(OBJCOPY) -O binary target/min/$(TARGET)/$(PROFILE_DIR)/kernel8 $(MIN_IMG)

firmware:
	@bash scripts/fetch-firmware.sh

# The loader runs with the MMU off, where every access is to Device memory and
# must be aligned: it is built with +strict-align, in its own target directory
# (rustc warns that the feature is not a stabilised one; LLVM honours it).
chainload: $(LOADER)
$(LOADER): FORCE
	@bash scripts/setup.sh
	CARGO_TARGET_DIR=target/chainload RUSTFLAGS="-C target-feature=+strict-align" \
		cargo build -p chainloader --bin chainload --target $(TARGET) --release
	@mkdir -p $(BUILD)
	$(OBJCOPY) -O binary target/chainload/$(TARGET)/release/chainload $(LOADER)

sdimage-chainload: $(LOADER)
	@bash scripts/mksdimage.sh $(LOADER) $(BUILD)/sdcard-chainload.img

chainboot: $(IMG)
	@bash scripts/chainboot.sh $(DEV) $(IMG)

sdimage: $(IMG)
	@bash scripts/mksdimage.sh $(IMG) $(SDIMG)

# A kernel command line reaches the kernel in the device tree, as on a board.
ifdef APPEND
RUN_ARGS = -dtb $(BUILD)/firmware/bcm2711-rpi-4-b.dtb -append "$(APPEND)"
endif

# Ctrl-C belongs to the guest's terminal (SIGINT to the foreground job), so
# QEMU must not take it: to quit, Ctrl-] then `poweroff` in the debug monitor.
RUN_CONSOLE = -chardev stdio,id=console,signal=off -serial chardev:console

# The SD card of `make run`: a fresh copy of build/sdcard.img each run, so
# the built image stays as made; SD=<file> attaches that file itself.
ifdef SD
RUN_SD := $(SD)
RUN_SD_DEP :=
else
RUN_SD := $(BUILD)/sdcard-run.img
RUN_SD_DEP := sdimage
endif

run: $(IMG) $(RUN_SD_DEP)
	@if [ -n "$(APPEND)" ]; then bash scripts/fetch-firmware.sh; fi
	@if [ -z "$(SD)" ]; then cp $(SDIMG) $(RUN_SD); fi
	@echo "Ctrl-C goes to the guest; to quit QEMU: Ctrl-] (the kernel's debug monitor), then poweroff"
	$(QEMU) $(subst -serial stdio,$(RUN_CONSOLE),$(QEMU_ARGS)) $(RUN_ARGS) -drive if=sd,format=raw,file=$(RUN_SD)

gdb: $(IMG)
	@echo "QEMU waits for gdb: gdb-multiarch $(ELF) -ex 'target remote :1234'"
	$(QEMU) $(QEMU_ARGS) -S -gdb tcp:127.0.0.1:1234

test: unit-test system-test lint

HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')

unit-test:
	@bash scripts/setup.sh
	cargo test --workspace --lib
	bash scripts/test-string.sh
	cd userland && cargo test -p uparse --target $(HOST_TRIPLE)

system-test: $(IMG) $(MIN_IMG) $(EXTRA_IMG) $(DEV_IMG) sdimage $(LOADER) sdimage-chainload
	KERNEL_IMAGE=$(abspath $(IMG)) MIN_KERNEL_IMAGE=$(abspath $(MIN_IMG)) DEV_KERNEL_IMAGE=$(abspath $(DEV_IMG)) \
		EXTRA_KERNEL_IMAGE=$(abspath $(EXTRA_IMG)) SD_IMAGE=$(abspath $(SDIMG)) \
		FIRMWARE_DIR=$(abspath $(BUILD)/firmware) ROOTFS=$(abspath $(ROOTFS)) \
		LOADER_IMAGE=$(abspath $(LOADER)) SD_CHAINLOAD_IMAGE=$(abspath $(BUILD)/sdcard-chainload.img) \
		QEMU=$(QEMU) cargo test -p kernel --test '*' -- --test-threads=2

# A longer signal storm (kernel/tests/userspace.rs stress_long): STRESS_SECONDS
# (default 600) of t_stress in one-minute rounds; fails on a panic, a hang (a
# round past its deadline) or a leak (task_structs, free PIDs, free memory).
STRESS_SECONDS ?= 600
stress: $(IMG)
	STRESS_SECONDS=$(STRESS_SECONDS) KERNEL_IMAGE=$(abspath $(IMG)) ROOTFS=$(abspath $(ROOTFS)) QEMU=$(QEMU) \
		cargo test -p kernel --test userspace -- --ignored --nocapture stress_long

clippy:
	@bash scripts/setup.sh
	cargo clippy -p kernel -p bsp -p chainloader --target $(TARGET) -- -D warnings
	cargo clippy --workspace --all-targets -- -D warnings
	cd userland && cargo clippy --release -- -D warnings

lint: clippy
	cargo fmt --all --check
	cd userland && cargo fmt --all --check

fmt:
	cargo fmt --all
	cd userland && cargo fmt --all

bench: $(IMG)
	@bash scripts/fetch-firmware.sh
	@bash scripts/bench-boot.sh $(IMG)
	@bash scripts/bench-sched.sh $(IMG) icount
	@bash scripts/bench-sched.sh $(IMG) wall
	@bash scripts/bench-user.sh $(IMG)
	@bash scripts/bench-mem.sh $(IMG)
	@bash scripts/bench-sd.sh $(IMG)

BENCH ?= fork_exit_wait=200
profile: $(IMG)
	@bash scripts/profile.sh $(IMG) $(BENCH)

clean:
	cargo clean
	rm -rf $(BUILD)
