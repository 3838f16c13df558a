# recorder/extension/: the Lambda extension. Its parts (config, redaction, env/code digests,
# proxy, sealer) form librtextension.a so unit tests can link them; main.c is the program
# $(BUILD)/bin/runtrail-extension. The layer tree $(BUILD)/layer/ is built by `make` (all):
#   extensions/runtrail              the extension, linked with an rpath to runtrail/lib
#   runtrail/wrapper                 the AWS_LAMBDA_EXEC_WRAPPER program (recorder/wrapper/)
#   runtrail/lib/libruntrail-preload.so and the shared libraries Lambda's images lack
# `make layer` zips it into $(BUILD)/runtrail-layer.zip (see docs/deploy.md).
# The program is main.c, curl_lazy.c and seal_lazy.c (the functions of libcurl, libcrypto,
# libzstd and libexpat, each loading its library at the first call through lazy.c: nothing
# before the first response needs them); the rest is librtextension.a, which unit tests link
# with the libraries.
EXT_MAIN := recorder/extension/main.c recorder/extension/lazy.c recorder/extension/curl_lazy.c \
            recorder/extension/seal_lazy.c
EXT_SRCS := $(filter-out $(EXT_MAIN),$(wildcard recorder/extension/*.c))
$(eval $(call rt_static_lib,rtextension,$(EXT_SRCS),libcurl libmicrohttpd jansson libcrypto \
  libevent_core libevent_extra))
# What the extension links: no catalog (SQLite) and no terminal UI (ncurses); the bundle
# format, the ring consumer and the folder/S3 store only, and not libcurl (loaded when first
# needed, after the first response). scripts/check-layers.sh checks the result with readelf.
EXTENSION_LIBS := rtextension recorder store formats
EXTENSION_PKGS := jansson
# The extension's own libmicrohttpd, when Debian's source package is in .deps/src
# (scripts/deb-src.sh, run by make deps): static and without TLS (scripts/build-mhd.sh), which
# spares every sandbox GnuTLS and seven libraries more. Without it, the system's shared one.
EXT_MHD_DSC := $(firstword $(wildcard .deps/src/libmicrohttpd_*.dsc))
ifneq ($(EXT_MHD_DSC),)
EXT_MHD := $(BUILD)/mhd/libmicrohttpd.a
$(EXT_MHD): $(EXT_MHD_DSC) scripts/build-mhd.sh scripts/deb-unpack.sh scripts/mhd-pool-no-zero.patch
	@CC="$(CC)" bash scripts/build-mhd.sh $(EXT_MHD_DSC) $(BUILD)/mhd
endif
# The extension's own libcurl, from the same place (scripts/build-curl.sh): a shared library
# with HTTP(S) and the system's OpenSSL only, which the extension loads at its first S3 upload
# from the layer's runtrail/lib before the system's libcurl.so.4 (lazy.c; the build tree's
# bin/runtrail-extension, with no runtrail/ beside it, loads the system's): Debian's brings about thirty libraries, 4 MB of resident memory more per sandbox.
EXT_CURL_DSC := $(firstword $(wildcard .deps/src/curl_*.dsc))
ifneq ($(EXT_CURL_DSC),)
EXT_CURL := $(BUILD)/lib/libruntrail-curl.so
$(EXT_CURL): $(EXT_CURL_DSC) scripts/build-curl.sh scripts/deb-unpack.sh
	@CC="$(CC)" bash scripts/build-curl.sh $(EXT_CURL_DSC) $(BUILD)/curl
	@mkdir -p $(dir $@) && cp $(BUILD)/curl/libruntrail-curl.so $@
all: $(EXT_CURL)
endif
# jansson and libevent from their static archives where the system has them (Debian's -dev
# packages do): the loader then maps libc alone, 0.45-0.6 ms less from exec to the ready file
# (median of 40 interleaved starts), and the layer need not carry them. Without the archives
# (Amazon Linux 2023's -devel packages have none), the shared ones, copied into the layer.
EXT_STATIC_A := $(foreach l,jansson event_extra event_core,\
                  $(filter /%,$(shell $(CC) -print-file-name=lib$(l).a)))
# (each -lNAME with an archive is dropped, and the archives go after the rest in the order of
# EXT_STATIC_A, libevent_extra before the libevent_core it calls)
ext_static = $(foreach w,$(1),$(if $(filter %/lib$(patsubst -l%,%,$(w)).a,$(EXT_STATIC_A)),,$(w))) \
             $(EXT_STATIC_A)
# $(call rt_link,EXTENSION) without the libraries the *_lazy.c files load, with the static
# archives above, and with the static libmicrohttpd when there is one.
ext_link = $(call ext_static,$(filter-out -lcurl -lcrypto -lzstd -lexpat \
             $(if $(EXT_MHD),-lmicrohttpd),$(call rt_link,EXTENSION))) $(EXT_MHD)
$(BUILD)/bin/runtrail-extension: $(patsubst %.c,$(BUILD)/obj/%.o,$(EXT_MAIN)) \
                                 $(call rt_lib_files,$(EXTENSION_LIBS)) $(EXT_MHD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(filter %.o,$^) -o $@ $(ext_link)
BINS += $(BUILD)/bin/runtrail-extension

LAYER := $(BUILD)/layer
# Defined by recorder/module.mk (read after this file): expanded when the rules run.
LAYER_PRELOAD = $(filter %/libruntrail-preload.so,$(SOLIBS))
# Libraries the extension needs that Lambda's Amazon Linux 2023 images do not ship.
LAYER_SHLIBS := libmicrohttpd libjansson libevent_core libevent_extra

# The extension's run path, as DT_RPATH (--disable-new-dtags), which the loader searches before
# LD_LIBRARY_PATH, for the extension's own libraries and for those it loads later (libcurl,
# libcrypto, libzstd, expat: lazy.c). Lambda's LD_LIBRARY_PATH holds /var/task/lib and
# /opt/lib, the function's and other layers' folders: a function that ships its own
# libcrypto.so.3 there had the extension load that one (a build without the symbols it calls
# sealed nothing: "cannot load libcrypto.so.3"), and the loader tried every folder of that list
# for libc before ld.so.cache (88 failed opens on Debian, 32 with this path). So: runtrail/lib
# only when a library is copied there (with every library linked in, the loader would look for
# libc there first: about twenty failed lookups, 0.28 ms at the median of 120 starts), then
# the system's folders: first the one this compiler's libc is in, since the loader looks for
# libc in every folder before it and in each one's glibc-hwcaps and tls subfolders (Debian, with
# /lib64 and /usr/lib64 first: 62 failed lookups at each start, 20 with its own folder first),
# then Amazon Linux's (/lib64, /usr/lib64) and this compiler's multiarch ones, each once.
EXT_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
EXT_LIBC_DIR := $(shell d=$$(realpath -qe "$$($(CC) -print-file-name=libc.so.6)") && dirname "$$d")
ext_uniq = $(if $1,$(firstword $1) $(call ext_uniq,$(filter-out $(firstword $1),$1)))
ext_empty :=
EXT_SYSLIBS := $(subst $(ext_empty) $(ext_empty),:,$(strip $(call ext_uniq,$(EXT_LIBC_DIR) /lib64 \
    /usr/lib64 $(if $(EXT_MULTIARCH),/lib/$(EXT_MULTIARCH) /usr/lib/$(EXT_MULTIARCH)))))
EXT_RPATH = -Wl,--disable-new-dtags,-rpath,'$(if $(and $(EXT_MHD),$(word 3,$(EXT_STATIC_A))),,$$ORIGIN/../runtrail/lib:)$(EXT_SYSLIBS)'

# Said when the layer's extension links the system's libmicrohttpd: nothing fails, but every
# cold start pays for it (a tree without .deps/src, such as a git worktree, builds it so).
EXT_MHD_NOTE := runtrail: the layer's extension links the system's libmicrohttpd (GnuTLS and \
  seven libraries more: 226 page faults to start against 66, and about 5 ms more per cold start \
  on a host whose faults cost 10 us); run 'make deps' (scripts/deb-src.sh) for the static one

$(LAYER)/extensions/runtrail: $(patsubst %.c,$(BUILD)/obj/%.o,$(EXT_MAIN)) \
                              $(call rt_lib_files,$(EXTENSION_LIBS)) $(EXT_MHD) \
                              recorder/extension/module.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(filter %.o,$^) -o $@ -Wl,--as-needed $(EXT_RPATH) $(ext_link)
	$(if $(EXT_MHD),,@echo "$(EXT_MHD_NOTE)" >&2)

$(LAYER)/.stamp: $(LAYER)/extensions/runtrail $(BUILD)/wrapper/runtrail-wrapper $$(LAYER_PRELOAD) \
                 $(EXT_CURL) recorder/extension/module.mk
	@rm -rf $(LAYER)/runtrail && mkdir -p $(LAYER)/runtrail/lib
	install -m 755 $(BUILD)/wrapper/runtrail-wrapper $(LAYER)/runtrail/wrapper
	$(if $(LAYER_PRELOAD),install -m 755 $(LAYER_PRELOAD) $(LAYER)/runtrail/lib/)
	$(if $(EXT_CURL),install -m 755 $(EXT_CURL) $(LAYER)/runtrail/lib/)
	@for lib in $$(ldd $(LAYER)/extensions/runtrail | awk '{print $$3}' \
	  | grep -E '/($(subst $() ,|,$(LAYER_SHLIBS)))[.-]'); do \
	  cp -L "$$lib" $(LAYER)/runtrail/lib/ || exit 1; done
	@touch $@

all: $(LAYER)/.stamp

$(BUILD)/runtrail-layer.zip: $(LAYER)/.stamp
	@rm -f $@
	cd $(LAYER) && zip -q -r -y -X ../runtrail-layer.zip extensions runtrail

layer: $(BUILD)/runtrail-layer.zip
.PHONY: layer
