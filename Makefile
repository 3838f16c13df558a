# runtrail — the only build system. Non-recursive: each folder adds its sources in module.mk.
#   make            build everything into $(BUILD)
#   make test       unit (Criterion) + e2e + tui tests, one summary line at the end
#   make demo       install missing packages, build, run the main job on the embedded default
#   make SANITIZE=1 test   the same under ASan/UBSan (separate build folder)
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each, FUZZ_JOBS (default nproc) at a time
#   make bench      benchmarks: tables of ratios measured side by side (installs valgrind and
#                   the test peers first)
#   make lint       check-layers + cppcheck + clang-format check
#   make check-layers   folder includes and program links follow docs/architecture.md
#   make install    PREFIX=/usr/local DESTDIR=
.DEFAULT_GOAL := all
.SUFFIXES:
.SECONDEXPANSION:

VERSION   := 0.1.0
SANITIZE  ?= 0
ifeq ($(SANITIZE),1)
BUILD     ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD     ?= build
SANFLAGS  :=
endif
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
PKGS      := libzstd libcurl libmicrohttpd libevent_core libevent_extra jansson ncursesw sqlite3 libcrypto expat
PKG_CFLAGS := $(filter-out -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=%,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN      := -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -I. -I$(BUILD)/gen \
             -DRT_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm -ldl

# Filled by the module.mk files.
LIBS      :=   # static library files, every one (LINK_LIBS links them all as one group)
LIB_NAMES :=   # the same by name: formats store catalog ...
BINS      :=   # programs in $(BUILD)/bin
SOLIBS    :=   # shared objects in $(BUILD)/lib
GENERATED :=   # generated headers every object depends on

# Link lists. Each program links only what it uses (docs/architecture.md): a static library
# names the pkg-config packages its own sources use; a program names, in two variables with a
# common prefix, its static libraries (PREFIX_LIBS, by name, any order: they are linked as one
# group) and the packages its own sources use (PREFIX_PKGS); it is linked with those packages
# and those of each of its libraries. Example (recorder/extension/module.mk):
#   EXTENSION_LIBS := rtextension recorder store formats
#   EXTENSION_PKGS := libcurl jansson
#   $(eval $(call rt_program,runtrail-extension,recorder/extension/main.c,EXTENSION))
# The lists are read when the rules run, so they may name libraries a later module.mk defines.

# $(call rt_static_lib,NAME,SOURCES,PKGS): $(BUILD)/libNAME.a from SOURCES, whose code uses
# the pkg-config packages PKGS. The archive is rebuilt from scratch, so a source that moved to
# another library leaves no stale member behind.
define rt_static_lib
$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(2))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
LIBS += $(BUILD)/lib$(1).a
LIB_NAMES += $(1)
PKGS_lib$(1) := $(3)
endef

# $(call rt_lib_files,NAMES): the archive files of the static libraries NAMES.
rt_lib_files = $(foreach l,$(1),$(BUILD)/lib$(l).a)
# $(call rt_pkgs,LIBNAMES,PKGS): PKGS plus the packages of each library, sorted, no repeats.
rt_pkgs = $(sort $(2) $(foreach l,$(1),$(PKGS_lib$(l))))
# $(call rt_link_with,LIBNAMES,PKGS): link arguments (after the objects) for the static
# libraries LIBNAMES, the packages PKGS and those of the libraries.
rt_link_with = -Wl,--start-group $(call rt_lib_files,$(1)) -Wl,--end-group \
               $(if $(call rt_pkgs,$(1),$(2)),$(shell pkg-config --libs $(call rt_pkgs,$(1),$(2)))) \
               $(LDLIBS_BASE)
# $(call rt_link,PREFIX): the same for the lists PREFIX_LIBS and PREFIX_PKGS.
rt_link = $(call rt_link_with,$($(1)_LIBS),$($(1)_PKGS))
LDLIBS_BASE := -lpthread -lm
# $(call rt_own_mhd,ARGS): link ARGS with EXT_MHD in place of -lmicrohttpd, when both are there.
rt_own_mhd = $(if $(and $(EXT_MHD),$(filter -lmicrohttpd,$(1))),$(filter-out -lmicrohttpd,$(1)) \
               $(EXT_MHD),$(1))

# $(call rt_program,NAME,SOURCES,PREFIX): $(BUILD)/bin/NAME from SOURCES, linked with the
# libraries in PREFIX_LIBS and the packages in PREFIX_PKGS and those of its libraries, less
# the link arguments in PREFIX_DROP (a library the program loads itself: cli/module.mk).
# A program that links libmicrohttpd takes the extension's own static one when there is one
# (EXT_MHD, recorder/extension/module.mk): the emulator then serves the Runtime API with the
# same library, and the same memory pool, as the recorder's proxy.
define rt_program
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(2)) $$$$(call rt_lib_files,$$$$($(3)_LIBS)) \
                   $$$$(EXT_MHD)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(filter %.o,$$^) -o $$@ \
	    $$(call rt_own_mhd,$$(filter-out $$($(3)_DROP),$$(call rt_link,$(3))))
BINS += $(BUILD)/bin/$(1)
endef
# Everything, for helper programs that do not name their lists.
LINK_LIBS = -Wl,--start-group $(LIBS) -Wl,--end-group
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

include $(sort $(wildcard */module.mk */*/module.mk))

UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

all: $(BINS) $(SOLIBS)

$(BUILD)/obj/%.o: %.c | $(GENERATED)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# A unit test tests/unit/test_NAME.c links Criterion and the libraries named in
# UNIT_test_NAME_LIBS (tests/unit/module.mk), by default all of them.
unit_libs = $(or $(UNIT_$(1)_LIBS),$(LIB_NAMES))
$(BUILD)/tests/unit/%: tests/unit/%.c $$(call rt_lib_files,$$(call unit_libs,$$*))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(call rt_link_with,$(call unit_libs,$*),criterion)

deps:
	@bash scripts/deps.sh

test-deps:
	@bash scripts/deps.sh --test
	@bash scripts/npm-deps.sh

unit: $(UNIT_BINS) all

test: test-deps all $(UNIT_BINS)
	@BUILD=$(BUILD) bash tests/run.sh $(TESTS)

test-unit: deps all $(UNIT_BINS)
	@BUILD=$(BUILD) bash tests/run.sh unit

demo:
	@bash scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash scripts/demo.sh

FUZZ_SECONDS ?= 20
fuzz:
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

bench-deps:
	@bash scripts/deps.sh --bench
	@bash scripts/npm-deps.sh

bench: bench-deps all
	@BUILD=$(BUILD) bash tests/bench/run.sh

# The layering (docs/architecture.md): includes between folders, the symbols the objects use
# and what the interposer and the extension link, checked on a fresh build.
check-layers: all
	@bash scripts/check-layers.sh --build $(BUILD)

lint: check-layers
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -I. \
	  $(shell git ls-files '*.c' | grep -v '^tests/')
	clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

# Installed layout: the programs find their parts relative to themselves, as in the build tree:
# bin/runtrail, lib/libruntrail-preload.so (record), lib/runtrail/layer/ (invoke, layer).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/runtrail $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	$(if $(SOLIBS),install -m 755 $(SOLIBS) $(DESTDIR)$(PREFIX)/lib/)
	rm -rf $(DESTDIR)$(PREFIX)/lib/runtrail/layer
	cp -R $(BUILD)/layer $(DESTDIR)$(PREFIX)/lib/runtrail/layer
	install -m 644 $(wildcard docs/man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-san build-*

.PHONY: all deps test-deps bench-deps unit test test-unit demo fuzz bench lint check-layers install clean

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
