// PLACEHOLDER
#include <stdint.h>
#include <stddef.h>
uint32_t rivulet_crc32c_placeholder(void);
