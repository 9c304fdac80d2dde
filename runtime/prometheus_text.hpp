#pragma once

// Prometheus's text exposition format (version 0.0.4), written without I/O:
// families are added in any order, each sample with its labels, and
// render() writes every family once, its # HELP and # TYPE lines first.
//
//   prometheus_text out;
//   out.add("meshrt_transport_retransmits_total", metric_kind::counter,
//           "Packets sent again", 12, {{"peer", "127.0.0.1:7001"}});
//   std::string body = out.render();

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace meshrt {

/// A family's type line.
enum class metric_kind { counter, gauge };

/// A sample's labels, in the order written.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// One scrape's worth of metric families, rendered as Prometheus text.
class prometheus_text {
public:
  /// Adds one sample of the family `name`. The first sample of a family
  /// fixes its kind and help; later samples add lines under it. Throws
  /// std::invalid_argument for a name or label name Prometheus refuses.
  void add(const std::string& name, metric_kind kind, const std::string& help, double value,
           metric_labels labels = {});

  /// Every family, in the order each was first added.
  std::string render() const;

  /// Number of families.
  size_t size() const noexcept {
    return families_.size();
  }

private:
  struct family {
    std::string name;
    metric_kind kind;
    std::string help;
    std::vector<std::pair<metric_labels, double>> samples;
  };
  std::vector<family> families_;
  std::unordered_map<std::string, size_t> index_;
};

} // namespace meshrt
