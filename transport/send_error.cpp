#include "transport/send_error.hpp"

#include "transport/context_error.hpp"

namespace meshrt::transport {

caf::error make_send_error(send_errc code, std::string context) {
  return make_context_error(error_category, static_cast<uint8_t>(code), std::move(context));
}

} // namespace meshrt::transport
