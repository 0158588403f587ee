# Raspberry Pi 4 kernel: build, run in QEMU, test.
#   make          build/kernel8.img (raw image) and build/kernel8.elf
#   make run      boot it in qemu-system-aarch64 -M raspi4b, console on this terminal
#   make test     host unit tests + QEMU system tests + lints (installs what is missing)
#   make clippy   lints, -D warnings, kernel target and host
#   make gdb      QEMU halted, waiting for gdb-multiarch on tcp::1234
#   make sdimage  build/sdcard.img for a real Pi 4 (firmware from Debian)
#   make bench    boot-time and scheduler figures
#   make clean
# Options: PROFILE=release|dev (default release), HZ=<ticks per second>.

TARGET   := aarch64-unknown-none-softfloat
PROFILE  ?= release
BUILD    := build
ELF      := $(BUILD)/kernel8.elf
IMG      := $(BUILD)/kernel8.img
SDIMG    := $(BUILD)/sdcard.img
CARGO_OUT = target/$(TARGET)/$(PROFILE)/kernel8
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

.PHONY: all setup run test unit-test system-test clippy lint fmt gdb bench clean sdimage firmware FORCE

all: $(IMG)

setup:
	@bash scripts/setup.sh

$(ELF): FORCE
	@bash scripts/setup.sh
	cargo build -p kernel --bin kernel8 --target $(TARGET) $(CARGO_PROFILE)
	@mkdir -p $(BUILD)
	cp $(CARGO_OUT) $(ELF)

$(IMG): $(ELF)
	$(OBJCOPY) -O binary $(ELF) $(IMG)
	@echo "built $(IMG) ($$(stat -c %s $(IMG)) bytes)"

firmware:
	@bash scripts/fetch-firmware.sh

sdimage: $(IMG)
	@bash scripts/mksdimage.sh $(IMG) $(SDIMG)

run: $(IMG)
	$(QEMU) $(QEMU_ARGS)

gdb: $(IMG)
	@echo "QEMU waits for gdb: gdb-multiarch $(ELF) -ex 'target remote :1234'"
	$(QEMU) $(QEMU_ARGS) -S -gdb tcp:127.0.0.1:1234

test: unit-test system-test lint

unit-test:
	@bash scripts/setup.sh
	cargo test --workspace --lib

system-test: $(IMG) sdimage
	KERNEL_IMAGE=$(abspath $(IMG)) SD_IMAGE=$(abspath $(SDIMG)) FIRMWARE_DIR=$(abspath $(BUILD)/firmware) \
		QEMU=$(QEMU) cargo test -p kernel --test '*' -- --test-threads=2

clippy:
	@bash scripts/setup.sh
	cargo clippy -p kernel -p bsp --target $(TARGET) -- -D warnings
	cargo clippy --workspace --all-targets -- -D warnings

lint: clippy
	cargo fmt --all --check

fmt:
	cargo fmt --all

bench: $(IMG)
	@bash scripts/bench-boot.sh $(IMG)
	@bash scripts/bench-sched.sh $(IMG) icount
	@bash scripts/bench-sched.sh $(IMG) wall

clean:
	cargo clean
	rm -rf $(BUILD)
