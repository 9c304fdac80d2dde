#include "runtime/prometheus_text.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace meshrt {

namespace {

/// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, without ':' for labels.
bool valid_name(const std::string& name, bool colon) {
  if (name.empty())
    return false;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':')
              || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

/// Help text escapes backslash and newline; label values also '"'.
void append_escaped(std::string& out, const std::string& text, bool quotes) {
  for (auto c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quotes && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    // The shortest of %.15g..%.17g that reads back as the same double:
    // integers stay exact up to 2^53, 0.000512 does not become
    // 0.00051199999999999998.
    char buf[32];
    for (int precision = 15; precision <= 17; ++precision) {
      std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
      if (std::strtod(buf, nullptr) == value)
        break;
    }
    out += buf;
  }
}

} // namespace

void prometheus_text::add(const std::string& name, metric_kind kind, const std::string& help,
                          double value, metric_labels labels) {
  for (const auto& [label, text] : labels)
    if (!valid_name(label, false) || label.rfind("__", 0) == 0)
      throw std::invalid_argument("not a Prometheus label name: '" + label + "' (metric " + name
                                  + ")");
  auto i = index_.find(name);
  if (i == index_.end()) {
    if (!valid_name(name, true))
      throw std::invalid_argument("not a Prometheus metric name: '" + name + "'");
    i = index_.emplace(name, families_.size()).first;
    families_.push_back(family{name, kind, help, {}});
  }
  families_[i->second].samples.emplace_back(std::move(labels), value);
}

std::string prometheus_text::render() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE " + f.name + (f.kind == metric_kind::counter ? " counter\n" : " gauge\n");
    for (const auto& [labels, value] : f.samples) {
      out += f.name;
      if (!labels.empty()) {
        out += '{';
        for (size_t k = 0; k < labels.size(); ++k) {
          out += (k > 0 ? "," : "") + labels[k].first + "=\"";
          append_escaped(out, labels[k].second, true);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      append_value(out, value);
      out += '\n';
    }
  }
  return out;
}

} // namespace meshrt
