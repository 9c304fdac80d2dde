#include "transport/fault_injector.hpp"

namespace meshrt::transport {

fault_injector::fault_injector(fault_options opts) : opts_(opts), rng_(opts.seed) {
  // nop
}

bool fault_injector::roll(double percent) {
  return percent > 0 && std::uniform_real_distribution<double>{0, 100}(rng_) < percent;
}

void fault_injector::submit(const uint8_t* data, size_t size, const emit_fn& emit) {
  if (roll(opts_.drop_percent)) {
    ++dropped_;
    return;
  }
  if (!holding_ && roll(opts_.reorder_percent)) {
    held_.assign(data, data + size);
    holding_ = true;
    return;
  }
  emit(data, size);
  if (roll(opts_.duplicate_percent))
    emit(data, size);
  release(emit);
}

void fault_injector::release(const emit_fn& emit) {
  if (holding_) {
    holding_ = false;
    emit(held_.data(), held_.size());
  }
}

} // namespace meshrt::transport
