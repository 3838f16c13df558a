# viewer/: libviewer.a — the terminal UI of `runtrail view`. Two parts in one library:
#   viewer/vm_*.c  the curses-free models (timeline, detail, diff, text cells): pure C over
#                  formats/ and analysis/, unit-tested in tests/unit/test_viewmodel.c;
#   viewer/*.c     the ncursesw screens that draw them.
# The models never include curses (scripts/check-layers.sh, room viewmodel).
VIEWER_SRCS := $(sort $(wildcard viewer/*.c))
ifneq ($(VIEWER_SRCS),)
$(eval $(call rt_static_lib,viewer,$(VIEWER_SRCS),jansson ncursesw))
endif
