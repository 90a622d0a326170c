// The per-request split decision: each worker's Splitter says whether the next request goes to canary,
// exactly at the weight over any run of requests.
#pragma once

#include <cstdint>

#include "config/weight.hpp"

namespace canaryd::weights {

/// Per-worker deterministic splitter: a basis-point accumulator. Over any run of requests at a fixed
/// weight the canary count differs from N*w/10000 by less than one, which is what makes the contract's
/// bound (threads + 1) hold across workers. One per worker thread; not thread-safe.
class Splitter {
 public:
  /// True when this request goes to canary.
  bool next_is_canary(config::BasisPoints weight) {
    acc_ += weight;
    if (acc_ >= config::kMaxBasisPoints) {
      acc_ -= config::kMaxBasisPoints;
      return true;
    }
    return false;
  }

 private:
  std::uint32_t acc_ = 0;
};

}  // namespace canaryd::weights
