#include "transport/send_error.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace meshrt::transport {

caf::error make_send_error(send_errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

} // namespace meshrt::transport
