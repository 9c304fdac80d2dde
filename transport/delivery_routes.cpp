#include "transport/delivery_routes.hpp"

#include <algorithm>

namespace meshrt::transport {

void delivery_routes::set(uint8_t kind, caf::actor to) {
  routes_.erase(std::remove_if(routes_.begin(), routes_.end(),
                               [kind](const auto& route) { return route.first == kind; }),
                routes_.end());
  if (to)
    routes_.emplace_back(kind, std::move(to));
}

} // namespace meshrt::transport
