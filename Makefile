# SPDX-License-Identifier: GPL-2.0-only
#
# make                  build smbvn.ko for the running kernel
# make KROOT=DIR        build for a Debian kernel unpacked into DIR
#                       (linux-image, linux-headers, -common, linux-kbuild)
# make test             the whole suite (KUnit + VM scenarios, both kernels)
# make e2e              VM scenarios only
# make stress           load, reconnect, load/unload and stall tests (VM)
# make ksmbd            the VM scenarios against ksmbd instead of Samba
# make kerberos         sec=krb5 mounts against a loopback Samba AD DC (VM)
# make dfs-multiuser    DFS referral, tamper and failover; multiuser mounts
#                       with per-user keyring credentials (VM)
# make checkpatch       checkpatch.pl --strict over every source file
# make mainline         fetch Debian sid's newest 7.2 kernel into .cache/k/
# make matrix           W=1 build and e2e on every Debian kernel a user runs
#                       (Debian 12 and 13, generic/cloud/rt, sid); writes
#                       docs/matrix.md (MATRIX_KERNELS= picks releases)
# make install          modules_install + depmod, modprobe.d, man page
# make check-debug      VM suites on a KASAN/lockdep/kmemleak kernel built
#                       from linux-source-6.12 (slow; not part of make test)
#
# Each kernel gets its own build directory, build/<release>/, holding a copy
# of the sources and the cifs layout generated from that kernel's cifs.ko.

ifeq ($(KROOT),)
KREL    ?= $(shell uname -r)
KDIR    ?= /lib/modules/$(KREL)/build
CIFS_KO ?= $(firstword $(wildcard /lib/modules/$(KREL)/kernel/fs/smb/client/cifs.ko*) \
		       $(wildcard /lib/modules/$(KREL)/kernel/fs/cifs/cifs.ko*))
# The running kernel's BTF is only right for the running kernel.
ifeq ($(KREL),$(shell uname -r))
BTF_BASE ?= /sys/kernel/btf/vmlinux
else
BTF_BASE ?= $(firstword $(wildcard $(KDIR)/vmlinux) /boot/vmlinuz-$(KREL))
endif
else
KROOT   := $(abspath $(KROOT))
KREL    ?= $(notdir $(firstword $(wildcard $(KROOT)/lib/modules/*)))
KDIR    ?= $(KROOT)/usr/src/linux-headers-$(KREL)
CIFS_KO ?= $(firstword $(wildcard $(KROOT)/lib/modules/$(KREL)/kernel/fs/smb/client/cifs.ko*))
BTF_BASE ?= $(firstword $(wildcard $(KDIR)/vmlinux) $(KROOT)/boot/vmlinuz-$(KREL))
endif

TOP     := $(abspath .)
BDIR    := $(TOP)/build/$(KREL)
SRCS    := Kbuild $(wildcard smbvn/*.c include/*.h)

all: $(BDIR)/smbvn.ko

$(BDIR)/generated/smbvn_layout.h: scripts/btf-layout.py
	@test -n "$(CIFS_KO)" || { echo "no cifs.ko found for $(KREL)"; exit 1; }
	python3 scripts/btf-layout.py --base $(BTF_BASE) --module $(CIFS_KO) --out $@

$(BDIR)/smbvn.ko: $(SRCS) $(BDIR)/generated/smbvn_layout.h
	mkdir -p $(BDIR)
	cp -a Kbuild smbvn include $(BDIR)/
	$(MAKE) -C $(KDIR) M=$(BDIR) W=1 modules
	@ls -l $@

# modules_install into /lib/modules/<release>/extra, then depmod; the
# modprobe.d file makes smbvn load with cifs; smbvn(4) and smbvn-stats.
install: all
	$(MAKE) -C $(KDIR) M=$(BDIR) INSTALL_MOD_DIR=extra \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	depmod -a $(if $(DESTDIR),-b $(DESTDIR)) $(KREL)
	install -D -m 644 packaging/smbvn-modprobe.conf $(DESTDIR)/etc/modprobe.d/smbvn.conf
	install -D -m 644 man/smbvn.4 $(DESTDIR)/usr/share/man/man4/smbvn.4
	install -D -m 755 scripts/smbvn-stats $(DESTDIR)/usr/sbin/smbvn-stats

clean:
	rm -rf build

test:
	bash scripts/test.sh

e2e:
	bash scripts/e2e.sh

stress:
	bash scripts/stress.sh

ksmbd:
	bash scripts/ksmbd-e2e.sh

kerberos:
	bash scripts/krb5-e2e.sh

.PHONY: kerberos

dfs-multiuser:
	bash scripts/dfs-multiuser-e2e.sh

.PHONY: dfs-multiuser

checkpatch:
	bash scripts/checkpatch.sh

mainline:
	bash scripts/mainline.sh

check-debug:
	bash scripts/check-debug.sh

matrix:
	bash scripts/matrix.sh

.PHONY: matrix

.PHONY: check-debug

.PHONY: all install clean test e2e stress ksmbd checkpatch mainline

# make kunit / make fuzz / make bench live beside their sources.
-include kunit/kunit.mk fuzz/fuzz.mk bench/bench.mk
