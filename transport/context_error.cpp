#include "transport/context_error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace meshrt::transport {

caf::error make_context_error(caf::atom_value category, uint8_t code, std::string context) {
  return caf::error{code, category, caf::make_message(std::move(context))};
}

std::string context_line(const caf::error& err, caf::atom_value category) {
  if (err.category() != category || !err.context().match_elements<std::string>())
    return {};
  return err.context().get_as<std::string>(0);
}

void add_context_category(caf::actor_system_config& cfg, caf::atom_value category,
                          const std::string& prefix, std::string (*name_of)(uint8_t code)) {
  cfg.add_error_category(category,
                         [prefix, name_of](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string result = prefix + "." + name_of(code);
                           if (ctx.match_elements<std::string>())
                             result += ": " + ctx.get_as<std::string>(0);
                           return result;
                         });
}

} // namespace meshrt::transport
