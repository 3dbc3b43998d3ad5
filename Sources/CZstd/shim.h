// Umbrella header for the system library CZstd (Debian: libzstd-dev).
#include <zstd.h>
