# recorder/extension/: the Lambda extension. Its parts (config, redaction, env/code digests,
# proxy, sealer) form librtextension.a so unit tests can link them; main.c is the program
# $(BUILD)/bin/runtrail-extension. The layer tree $(BUILD)/layer/ is built by `make` (all):
#   extensions/runtrail              the extension, linked with an rpath to runtrail/lib
#   runtrail/wrapper                 the AWS_LAMBDA_EXEC_WRAPPER program (recorder/wrapper/)
#   runtrail/lib/libruntrail-preload.so and the shared libraries Lambda's images lack
# `make layer` zips it into $(BUILD)/runtrail-layer.zip (see docs/deploy.md).
EXT_SRCS := $(filter-out recorder/extension/main.c,$(wildcard recorder/extension/*.c))
$(eval $(call rt_static_lib,rtextension,$(EXT_SRCS),libcurl libmicrohttpd jansson libcrypto))
# What the extension links: no catalog (SQLite) and no terminal UI (ncurses); the bundle
# format, the ring consumer and the folder/S3 store only. scripts/check-layers.sh checks the
# result with readelf.
EXTENSION_LIBS := rtextension recorder store formats
EXTENSION_PKGS := libcurl jansson
$(eval $(call rt_program,runtrail-extension,recorder/extension/main.c,EXTENSION))

LAYER := $(BUILD)/layer
# Defined by recorder/module.mk (read after this file): expanded when the rules run.
LAYER_PRELOAD = $(filter %/libruntrail-preload.so,$(SOLIBS))
# Libraries the extension needs that Lambda's Amazon Linux 2023 images do not ship.
LAYER_SHLIBS := libmicrohttpd libjansson

$(LAYER)/extensions/runtrail: $(BUILD)/obj/recorder/extension/main.o \
                              $(call rt_lib_files,$(EXTENSION_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(BUILD)/obj/recorder/extension/main.o -o $@ -Wl,--as-needed \
	  -Wl,-rpath,'$$ORIGIN/../runtrail/lib' $(call rt_link,EXTENSION)

$(LAYER)/.stamp: $(LAYER)/extensions/runtrail $(BUILD)/wrapper/runtrail-wrapper $$(LAYER_PRELOAD) \
                 recorder/extension/module.mk
	@rm -rf $(LAYER)/runtrail && mkdir -p $(LAYER)/runtrail/lib
	install -m 755 $(BUILD)/wrapper/runtrail-wrapper $(LAYER)/runtrail/wrapper
	$(if $(LAYER_PRELOAD),install -m 755 $(LAYER_PRELOAD) $(LAYER)/runtrail/lib/)
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
