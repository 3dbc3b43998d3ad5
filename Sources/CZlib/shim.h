// Umbrella header for the system library CZlib (Debian: zlib1g-dev).
#include <zlib.h>
