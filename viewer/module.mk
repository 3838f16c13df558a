# viewer/: libviewer.a, the terminal UI of `runtrail view` (ncursesw), linked only into the CLI.
# The curses screens live here; the models they draw use formats/, analysis/ and the catalog.
VIEWER_SRCS := $(wildcard viewer/*.c)
$(eval $(call rt_static_lib,viewer,$(VIEWER_SRCS),ncursesw jansson))
