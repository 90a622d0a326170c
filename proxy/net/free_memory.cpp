// Handing memory that free() keeps back to the system (see free_memory.hpp).
#include "proxy/net/free_memory.hpp"

#if CANARYD_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

namespace canaryd::proxy {

#if CANARYD_JEMALLOC
#define CANARYD_STRINGIFY_(x) #x
#define CANARYD_STRINGIFY(x) CANARYD_STRINGIFY_(x)

void release_free_memory() {
  // Without a background thread jemalloc gives dirty pages back only as later allocations pass by,
  // and an idle proxy after a burst has none.
  ::mallctl("arena." CANARYD_STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", nullptr, nullptr, nullptr, 0);
}
#else
void release_free_memory() { ::malloc_trim(0); }
#endif

}  // namespace canaryd::proxy
