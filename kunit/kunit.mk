# SPDX-License-Identifier: GPL-2.0-only
#
# KUnit targets, included by the top-level Makefile (or used alone with
# "make -f kunit/kunit.mk TARGET"):
#
#   make kunit          the suites under UML via kunit.py (scripts/tests/kunit.sh);
#                       last line "KUNIT: N passed, M failed"
#   make kunit-module   the same suites as smbvn_kunit.ko: built with M=
#                       against a CONFIG_KUNIT=m UML kernel, insmod'ed there
#                       (scripts/tests/kunit.sh --module), same summary line
#   make kunit-ko       smbvn_kunit.ko for a kernel built with CONFIG_KUNIT
#                       (KUNIT_KDIR, default $(KDIR) or the running kernel;
#                       KUNIT_KO_ARGS for extra make arguments such as
#                       KBUILD_EXTRA_SYMBOLS=<kunit's Module.symvers>)
#
# This file is included before the top Makefile's own rules: it must not
# become the default goal, and its variables are prefixed KUNIT_.

KUNIT_SAVED_GOAL := $(.DEFAULT_GOAL)

KUNIT_TOP := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))))
# Recursive on purpose: KDIR is defined by the top Makefile after this
# file is read, and is only needed when the recipe runs.
KUNIT_KDIR ?= $(or $(KDIR),/lib/modules/$(shell uname -r)/build)
KUNIT_KO_DIR ?= $(KUNIT_TOP)/build/kunit-ko
KUNIT_KO_ARGS ?=
# Flat copy: Kbuild, the suites, the code under test unchanged, and the
# cifs layout scripts/tests/kunit.sh generated for the glue suite.
KUNIT_LAYOUT ?= $(KUNIT_TOP)/.cache/kunit/smbvn_layout.h
KUNIT_KO_SRCS = $(KUNIT_TOP)/kunit/Kbuild $(wildcard $(KUNIT_TOP)/kunit/*.c \
		$(KUNIT_TOP)/kunit/*.h) \
		$(addprefix $(KUNIT_TOP)/smbvn/,$(shell sed -n \
			's/^UNDER_TEST=(\(.*\))$$/\1/p' $(KUNIT_TOP)/scripts/tests/kunit.sh)) \
		$(wildcard $(KUNIT_TOP)/include/*.h) $(KUNIT_LAYOUT)

kunit:
	bash $(KUNIT_TOP)/scripts/tests/kunit.sh

kunit-module:
	bash $(KUNIT_TOP)/scripts/tests/kunit.sh --module

kunit-ko:
	@conf=$(KUNIT_KDIR)/include/config/auto.conf; \
	if ! grep -qE '^CONFIG_KUNIT=(y|m)' $$conf 2>/dev/null; then \
		echo "kunit-ko: $(KUNIT_KDIR) has no CONFIG_KUNIT ($$conf);" \
		     "build a kernel with CONFIG_KUNIT=m or use 'make kunit'"; \
		exit 1; \
	fi
	rm -rf $(KUNIT_KO_DIR)
	mkdir -p $(KUNIT_KO_DIR)
	cp $(KUNIT_KO_SRCS) $(KUNIT_KO_DIR)/
	$(MAKE) -C $(KUNIT_KDIR) M=$(KUNIT_KO_DIR) $(KUNIT_KO_ARGS) modules
	@ls -l $(KUNIT_KO_DIR)/smbvn_kunit.ko

.PHONY: kunit kunit-module kunit-ko

.DEFAULT_GOAL := $(KUNIT_SAVED_GOAL)
