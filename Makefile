# SPDX-License-Identifier: GPL-2.0-only
#
# make                  build smbvn.ko for the running kernel
# make KROOT=DIR        build for a Debian kernel unpacked into DIR
#                       (linux-image, linux-headers, -common, linux-kbuild)
# make demo             stock cifs against smbvn through a tampering proxy,
#                       in a qemu VM of Debian 12's kernel (a few minutes)
# make test             the whole suite (KUnit + VM scenarios, both kernels)
# make e2e              VM scenarios only
# make distro-test      an administrator's journey on a real Debian 13 (and
#                       12: DISTRO_SUITES="trixie bookworm") booted under
#                       qemu: apt install the .deb, fstab mounts at boot,
#                       the tools, a second kernel (DKMS builds, boot keeps
#                       the protection), apt remove
#                       (scripts/tests/distro-test.sh)
# make stress           load, reconnect, load/unload and stall tests (VM)
# make ksmbd            the VM scenarios against ksmbd instead of Samba
# make kerberos         sec=krb5 mounts against a loopback Samba AD DC (VM)
# make dfs-multiuser    DFS referral, tamper and failover; multiuser mounts
#                       with per-user keyring credentials (VM)
# make checkpatch       checkpatch.pl --strict over every source file
# make check            what CI runs over the code: checkpatch, then per
#                       kernel a W=1 build, sparse (C=2) and coccicheck,
#                       each failing on any warning (CHECK_KROOTS: the
#                       kernels; default KROOT, else CI's Debian kernels)
# make deb              smbvn-dkms_<version>_all.deb (debhelper, dh-dkms)
# make mainline         fetch Debian sid's newest 7.2 kernel into .cache/k/
# make matrix           W=1 build and e2e on every Debian kernel a user runs
#                       (Debian 12 and 13, generic/cloud/rt, sid); writes
#                       docs/matrix.md (MATRIX_KERNELS= picks releases)
# make install          modules_install + depmod, modprobe.d, man page
# make check-debug      VM suites on a KASAN/lockdep/kmemleak kernel built
#                       from linux-source-6.12, then on the same kernel with
#                       PREEMPT_RT (slow; not part of make test)
# make check-debug-rt   the PREEMPT_RT debug kernel only
# make campaign [SEED=] [N=]  randomised MITM campaign: N mounts per kernel
#                       through a seeded mutating proxy, invariant checked
#                       on the host (docs/CAMPAIGN.md)
#
# Each kernel gets its own build directory, build/<release>/, holding a copy
# of the sources and the cifs layout generated from that kernel's cifs.ko.
# User builds (make, make install, DKMS) use the kernel's default warning
# level; W=1 needs kernel-doc's perl modules, so only "make check" and
# "make W=1" ask for it.

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
# make check builds in a directory of its own: its W=1 objects must not
# pass for a user build's, nor a user build's up-to-date objects (which
# would compile nothing, hence warn nothing) for checked ones.
ifneq ($(filter check check-kernel check-src check-w1 check-sparse check-cocci,$(MAKECMDGOALS)),)
BDIR    := $(TOP)/build/check/$(KREL)
endif
SRCS    := Kbuild VERSION $(wildcard smbvn/*.c include/*.h)
# The one version string: modinfo, dkms.conf and the .deb all read it.
VERSION := $(strip $(file <$(TOP)/VERSION))
# What DKMS needs to build on a user's host, and nothing else.
DKMS_FILES := Makefile Kbuild VERSION dkms.conf scripts/build/btf-layout.py \
	      $(wildcard smbvn/*.c smbvn/*.h include/*.h)
MODPROBE_DIR ?= /etc/modprobe.d

all: $(BDIR)/smbvn.ko

$(BDIR)/generated/smbvn_layout.h: scripts/build/btf-layout.py
	@test -n "$(CIFS_KO)" || { echo "no cifs.ko found for $(KREL)"; exit 1; }
	python3 scripts/build/btf-layout.py --base $(BTF_BASE) --module $(CIFS_KO) --out $@

$(BDIR)/smbvn.ko: $(SRCS) $(BDIR)/generated/smbvn_layout.h
	mkdir -p $(BDIR)
	cp -a Kbuild VERSION smbvn include $(BDIR)/
	$(MAKE) -C $(KDIR) M=$(BDIR) modules
	@ls -l $@

# modules_install into /lib/modules/<release>/extra, then depmod; the
# modprobe.d file makes smbvn load with cifs; smbvn(4) and smbvn-stats.
install: all
	$(MAKE) -C $(KDIR) M=$(BDIR) INSTALL_MOD_DIR=extra \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	depmod -a $(if $(DESTDIR),-b $(DESTDIR)) $(KREL)
	$(MAKE) install-files

# Everything but the module: shared by "make install" and the .deb, which
# moves the modprobe rule to MODPROBE_DIR=/usr/lib/modprobe.d.
install-files:
	install -D -m 644 packaging/smbvn-modprobe.conf $(DESTDIR)$(MODPROBE_DIR)/smbvn.conf
	install -D -m 644 man/smbvn.4 $(DESTDIR)/usr/share/man/man4/smbvn.4
	install -D -m 644 man/smbvn-stats.8 $(DESTDIR)/usr/share/man/man8/smbvn-stats.8
	install -D -m 755 tools/smbvn-stats $(DESTDIR)/usr/sbin/smbvn-stats

# The DKMS source tree, /usr/src/smbvn-<version>.
dkms-src:
	install -d $(DESTDIR)/usr/src/smbvn-$(VERSION)
	cp --parents -t $(DESTDIR)/usr/src/smbvn-$(VERSION) $(DKMS_FILES)

# The Debian package is built from a staged copy: debian/ lives in
# packaging/debian so that the DKMS tree and the clone stay free of it, and
# debian/changelog is written from VERSION, so the version has one home.
DEB_STAGE := $(TOP)/build/deb/smbvn-$(VERSION)
DEB       := smbvn-dkms_$(VERSION)_all.deb
DEB_DATE   = $(shell date -R -d @$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)})
deb:
	rm -rf $(TOP)/build/deb
	mkdir -p $(DEB_STAGE)
	cp --parents -t $(DEB_STAGE) $(DKMS_FILES) man/smbvn.4 man/smbvn-stats.8 \
		tools/smbvn-stats packaging/smbvn-modprobe.conf
	cp -a packaging/debian $(DEB_STAGE)/debian
	printf '%s\n' 'smbvn ($(VERSION)) unstable; urgency=medium' '' \
		'  * smbvn $(VERSION), packaged from the VERSION file.' '' \
		' -- $(shell sed -n 's/^Maintainer: //p' packaging/debian/control)  $(DEB_DATE)' \
		> $(DEB_STAGE)/debian/changelog
	cd $(DEB_STAGE) && dpkg-buildpackage -b --no-sign
	cp $(TOP)/build/deb/$(DEB) $(TOP)/
	@ls -l $(DEB)

clean:
	rm -rf build smbvn-dkms_*.deb

demo:
	bash scripts/tests/demo.sh

test:
	bash scripts/tests/test.sh

e2e:
	bash scripts/tests/e2e.sh

distro-test:
	bash scripts/tests/distro-test.sh

.PHONY: distro-test

stress:
	bash scripts/tests/stress.sh

ksmbd:
	bash scripts/tests/ksmbd-e2e.sh

kerberos:
	bash scripts/tests/krb5-e2e.sh

.PHONY: kerberos

dfs-multiuser:
	bash scripts/tests/dfs-multiuser-e2e.sh

.PHONY: dfs-multiuser

checkpatch:
	bash scripts/build/checkpatch.sh

# make check.  Each tool writes its log to build/check/<tool>-<release>.log
# and fails on any warning line in it: neither gcc's W=1 warnings nor
# sparse's fail a build by themselves.
ifneq ($(KROOT),)
CHECK_KROOTS ?= $(KROOT)
else
CHECK_KROOTS ?= $(addprefix .cache/k/,$(shell bash scripts/build/deps.sh releases 2>/dev/null))
endif
CHECK_LOG   = $(TOP)/build/check/$(1)-$(KREL).log
# Debian's headers packages carry neither the coccinelle scripts nor
# extract-module-sig.pl (ops-host.sh's signature check); both come from
# linux-source-6.12, as checkpatch.pl does (scripts/build/checkpatch.sh).
KSCRIPTS   ?= $(TOP)/.cache/kscripts

check: checkpatch
	set -e; for k in $(or $(CHECK_KROOTS),-); do \
		$(MAKE) --no-print-directory check-kernel \
			$$([ "$$k" = - ] || echo "KROOT=$$k"); \
	done

check-kernel: check-w1 check-sparse check-cocci

check-src: $(BDIR)/generated/smbvn_layout.h
	mkdir -p $(BDIR)
	cp -a Kbuild VERSION smbvn include $(BDIR)/

# From clean: a second run must compile, hence warn, again.
check-w1: check-src
	$(MAKE) -s -C $(KDIR) M=$(BDIR) clean
	$(MAKE) -C $(KDIR) M=$(BDIR) W=1 modules >$(call CHECK_LOG,w1) 2>&1 || \
		{ cat $(call CHECK_LOG,w1); exit 1; }
	@! grep -i -E '(warning|error):' $(call CHECK_LOG,w1)
	@echo "check-w1 $(KREL): no warning"

check-sparse: check-src
	@command -v sparse >/dev/null || { echo "check-sparse: no sparse (Debian package sparse)"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(BDIR) C=2 CHECK=sparse modules \
		>$(call CHECK_LOG,sparse) 2>&1 || \
		{ cat $(call CHECK_LOG,sparse); exit 1; }
	@! grep -i -E '(warning|error):' $(call CHECK_LOG,sparse)
	@echo "check-sparse $(KREL): no warning"

# A full kernel tree runs coccicheck through kbuild; a headers package
# runs the same script directly, offline mode over the module's directory.
# Reports are lines starting with the path of a checked file; spatch's
# "should X be a metavariable?" lines are about a rule file
# (api/stream_open.cocci), not about smbvn.
check-cocci: check-src $(if $(wildcard $(KDIR)/scripts/coccicheck),,kscripts)
	$(if $(wildcard $(KDIR)/scripts/coccicheck),\
	$(MAKE) -C $(KDIR) M=$(BDIR) coccicheck MODE=report,\
	srctree=$(KSCRIPTS) KBUILD_EXTMOD=$(BDIR) MODE=report \
		bash $(KSCRIPTS)/scripts/coccicheck) \
		>$(call CHECK_LOG,cocci) 2>&1 || \
		{ cat $(call CHECK_LOG,cocci); exit 1; }
	@grep -q 'spatch .*--cocci-file' $(call CHECK_LOG,cocci)
	@! grep '^$(BDIR)/' $(call CHECK_LOG,cocci)
	@echo "check-cocci $(KREL): no report"

kscripts: $(KSCRIPTS)/.done

$(KSCRIPTS)/.done:
	set -e; deb=$$(ls $(TOP)/.cache/src/linux-source-6.12_*_all.deb 2>/dev/null | tail -1); \
	if [ -z "$$deb" ]; then mkdir -p $(TOP)/.cache/src; \
		(cd $(TOP)/.cache/src && apt-get download -qq linux-source-6.12); \
		deb=$$(ls $(TOP)/.cache/src/linux-source-6.12_*_all.deb | tail -1); fi; \
	tmp=$$(mktemp -d); mkdir -p $(KSCRIPTS); \
	dpkg-deb --fsys-tarfile "$$deb" | tar -x -C $$tmp --wildcards '*.tar.xz'; \
	tar -xJf $$tmp/usr/src/linux-source-6.12.tar.xz -C $(KSCRIPTS) \
		--strip-components=1 --wildcards 'linux-source-6.12/scripts/coccicheck' \
		'linux-source-6.12/scripts/coccinelle/*' \
		'linux-source-6.12/scripts/extract-module-sig.pl'; \
	rm -rf $$tmp; touch $@

mainline:
	bash scripts/build/mainline.sh

check-debug:
	bash scripts/tests/check-debug.sh
	CHECK_DEBUG_FLAVOUR=rt bash scripts/tests/check-debug.sh

check-debug-rt:
	CHECK_DEBUG_FLAVOUR=rt bash scripts/tests/check-debug.sh

matrix:
	bash scripts/tests/matrix.sh

.PHONY: matrix

.PHONY: check-debug check-debug-rt

campaign:
	python3 scripts/proxy/test_campaign.py
	SEED=$(or $(SEED),16) N=$(or $(N),200) bash scripts/tests/campaign.sh

.PHONY: campaign

.PHONY: all install clean demo test e2e stress ksmbd checkpatch mainline
.PHONY: install-files dkms-src deb check check-kernel check-src check-w1
.PHONY: check-sparse check-cocci kscripts

# make kunit / make fuzz / make bench live beside their sources.
-include kunit/kunit.mk fuzz/fuzz.mk bench/bench.mk
