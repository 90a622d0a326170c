// The real sleep of canaryctl's repeating commands (see pacer.hpp).
#include "ctl/pacer.hpp"

#include <thread>

namespace canaryd::ctl {

void RealPacer::sleep_for(std::chrono::milliseconds d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

}  // namespace canaryd::ctl
