# SPDX-License-Identifier: GPL-2.0-only
#
# Fuzzing targets, included by the top-level Makefile (or used alone with
# "make -f fuzz/fuzz.mk TARGET"):
#
#   make fuzz                 every libFuzzer harness for FUZZ_SECONDS (60)
#                             each, one after another (scripts/tests/fuzz.sh)
#   make fuzz FUZZ_HARNESS=judge          one harness only
#   make fuzz-cov             llvm-cov line coverage of smbvn/proto.c, judge.c
#   make fuzz-regress         sanitizer regression checks (fuzz/regress.c)
#   make fuzz-corpus          recapture fuzz/corpus/ from a private smbd
#
# Like kunit/kunit.mk it must not change the includer's default goal.

FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)

FUZZ_TOP := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))))
FUZZ_SECONDS ?= 60
FUZZ_HARNESS ?=
FUZZ_CLANG ?= clang

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) CLANG=$(FUZZ_CLANG) \
		bash $(FUZZ_TOP)/scripts/tests/fuzz.sh $(FUZZ_HARNESS)

fuzz-cov:
	CLANG=$(FUZZ_CLANG) bash $(FUZZ_TOP)/scripts/tests/fuzz.sh --cov $(FUZZ_HARNESS)

fuzz-regress:
	mkdir -p $(FUZZ_TOP)/.cache/fuzz
	$(FUZZ_CLANG) -g -O1 -Wall -Wextra -Werror -I$(FUZZ_TOP)/include \
		-fsanitize=address,undefined -fno-sanitize-recover=all \
		-o $(FUZZ_TOP)/.cache/fuzz/regress \
		$(FUZZ_TOP)/fuzz/regress.c $(FUZZ_TOP)/smbvn/proto.c \
		$(FUZZ_TOP)/smbvn/judge.c
	$(FUZZ_TOP)/.cache/fuzz/regress

fuzz-corpus:
	bash $(FUZZ_TOP)/fuzz/make-corpus.sh

.PHONY: fuzz fuzz-cov fuzz-regress fuzz-corpus

.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
