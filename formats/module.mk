# formats/: libformats.a — the bundle format, digests, escaping, shared JSON helpers.
$(eval $(call rt_static_lib,formats,$(wildcard formats/*.c)))
