// Umbrella header for the system library CLZ4 (Debian: liblz4-dev).
#include <lz4frame.h>
#include <lz4.h>
