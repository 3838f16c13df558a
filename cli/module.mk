# cli/: the runtrail binary. The dispatch table is generated from the RT_COMMAND lines of
# cli/cmd_*.c, sorted by name.
CLI_SRCS := $(wildcard cli/*.c)
$(BUILD)/gen/cli_commands.def: $(wildcard cli/cmd_*.c) cli/module.mk
	@mkdir -p $(dir $@)
	@grep -h '^RT_COMMAND(' $(wildcard cli/cmd_*.c) /dev/null | LC_ALL=C sort \
	  | sed 's/^RT_COMMAND(/RT_COMMAND_ENTRY(/' > $@.tmp && mv $@.tmp $@
GENERATED += $(BUILD)/gen/cli_commands.def
# The CLI links every library (recursive: also those defined by later module.mk files).
CLI_LIBS = $(LIB_NAMES)
CLI_PKGS := jansson libmicrohttpd libcrypto
$(eval $(call rt_program,runtrail,$(CLI_SRCS),CLI))
