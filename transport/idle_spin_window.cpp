#include "transport/idle_spin_window.hpp"

#include <algorithm>

namespace meshrt::transport {

idle_spin_window::idle_spin_window(duration base, duration max) :
  base_(std::max(base, duration::zero())),
  max_(base_ > duration::zero() ? std::max(max, base_) : duration::zero()), current_(base_) {
  // nop
}

void idle_spin_window::work_came_after(duration idle) noexcept {
  if (idle > max_)
    current_ = std::max(current_ / 2, base_);
  else if (idle > current_)
    current_ = std::min(current_ * 2, max_);
}

} // namespace meshrt::transport
