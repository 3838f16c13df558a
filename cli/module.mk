# cli/: the runtrail binary. The dispatch table is generated from the RT_COMMAND lines of
# cli/cmd_*.c, sorted by name.
# libcurl is loaded at its first call, as in the extension: lazy.c and curl_lazy.c define its
# functions in its stead, and -lcurl, which the store, control and replay libraries name, is
# dropped from the link. Most commands never call it, and loading it and the libraries it
# brings was half of every command's start where a page fault costs 11-14 us (`runtrail
# --version` 20.0 -> 9.5 ms at the median of 40).
CLI_SRCS := $(wildcard cli/*.c) recorder/extension/lazy.c recorder/extension/curl_lazy.c
CLI_DROP := -lcurl
$(BUILD)/gen/cli_commands.def: $(wildcard cli/cmd_*.c) cli/module.mk
	@mkdir -p $(dir $@)
	@grep -h '^RT_COMMAND(' $(wildcard cli/cmd_*.c) /dev/null | LC_ALL=C sort \
	  | sed 's/^RT_COMMAND(/RT_COMMAND_ENTRY(/' > $@.tmp && mv $@.tmp $@
GENERATED += $(BUILD)/gen/cli_commands.def
# The CLI links every library (recursive: also those defined by later module.mk files).
CLI_LIBS = $(LIB_NAMES)
CLI_PKGS := jansson libmicrohttpd libcrypto
$(eval $(call rt_program,runtrail,$(CLI_SRCS),CLI))
