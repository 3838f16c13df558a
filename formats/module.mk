# formats/: libformats.a — the bundle format, digests, escaping, shared JSON helpers.
# Depends on nothing of ours (scripts/check-layers.sh).
$(eval $(call rt_static_lib,formats,$(wildcard formats/*.c),libzstd libcrypto jansson))
