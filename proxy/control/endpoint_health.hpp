// The healthy/unhealthy thresholds of one endpoint's active health checks, as a small pure state machine.
#pragma once

namespace canaryd::proxy {

/// Threshold logic of active health checks for one endpoint: it turns unhealthy after
/// `unhealthy_threshold` failed probes in a row and healthy again after `healthy_threshold` successful
/// ones in a row. It starts healthy, so that a start or reload does not take traffic away before the
/// first probes have run (connect failures are still retried on other endpoints). Pure; main thread.
class EndpointHealth {
 public:
  bool healthy() const { return healthy_; }

  /// Records one probe; true when healthy() changed.
  bool record(bool success, unsigned healthy_threshold, unsigned unhealthy_threshold) {
    if (success == healthy_) {
      streak_ = 0;  // a result that agrees with the current state breaks any streak toward a flip
      return false;
    }
    if (++streak_ < (success ? healthy_threshold : unhealthy_threshold)) return false;
    healthy_ = success;
    streak_ = 0;
    return true;
  }

 private:
  bool healthy_ = true;
  unsigned streak_ = 0;
};

}  // namespace canaryd::proxy
