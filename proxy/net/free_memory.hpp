// Handing memory that free() keeps back to the system, for whichever allocator canaryd is built with.
#pragma once

namespace canaryd::proxy {

/// Returns the free pages of every malloc arena to the system: jemalloc's purge, or malloc_trim where
/// canaryd is built on glibc's malloc (the sanitizer builds). It walks every arena: for after a burst,
/// never on a request's way.
void release_free_memory();

}  // namespace canaryd::proxy
