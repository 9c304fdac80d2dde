#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/node_event.hpp"
#include "actors/node_record.hpp"
#include "actors/view_delta.hpp"

namespace meshrt {

/// A node's cached copy of its app's cluster, kept current by applying
/// MARS's deltas; free of sockets and clocks. Answers the node queries of
/// mesh-api.txt from the cache (the reference's "cache is two seconds").
class cluster_view {
public:
  /// Applies a delta and returns what changed, as the events the node
  /// passes on to its subscribers (node_joined, node_left, node_status,
  /// node_changed, shared_updated, shared_removed). A delta of another registry
  /// incarnation must be full (MARS sends it so); a partial one that does not
  /// continue this view's version is ignored and returns nothing.
  std::vector<node_event> apply(const view_delta& delta);

  /// The registry incarnation and version this view is at; a node sends
  /// these with each heartbeat so MARS answers with only what is new.
  uint64_t epoch() const {
    return epoch_;
  }
  uint64_t version() const {
    return version_;
  }

  size_t size() const {
    return nodes_.size();
  }

  /// GetNode: the record of a mesh address, or nullptr.
  const node_record* find(const std::string& mesh_address) const;

  /// GetNodeByEndPoint: the node with this public endpoint, or nullptr.
  const node_record* find_by_public_endpoint(const std::string& endpoint) const;

  /// GetNodeAddresses: every mesh address but those in `ignore`.
  std::vector<std::string> addresses(const std::vector<std::string>& ignore = {}) const;

  /// GetNodeAddressesByType (any status, as the reference says).
  std::vector<std::string> addresses_by_type(const std::string& type) const;

  /// GetNodeAddressesByRole.
  std::vector<std::string> addresses_by_role(const std::string& role) const;

  /// GetNodeTypes: every type present, sorted.
  std::vector<std::string> types() const;

  /// GetNodeRoleByType: the role of the first node of `type`, or "".
  std::string role_of_type(const std::string& type) const;

  /// GetRandomNodeAddressByType / GetSiblingNodeAddress: an online node of
  /// `type` other than `except`, chosen by `random` (the caller's random
  /// number); "" if there is none.
  std::string random_online(const std::string& type, uint64_t random,
                            const std::string& except = "") const;

  /// GetNodesWithDifferentPublicAddr: nodes whose public endpoint's host
  /// differs from the host of `public_endpoint`.
  std::vector<std::string> with_different_public_host(const std::string& public_endpoint) const;

  /// GetSharedData.
  std::optional<int16_t> shared(const std::string& key) const;

  /// Every shared value, by key.
  const std::map<std::string, int16_t>& shared_data() const {
    return shared_;
  }

private:
  template<class Predicate>
  std::vector<std::string> addresses_where(Predicate pred) const;

  uint64_t epoch_ = 0;
  uint64_t version_ = 0;
  std::map<std::string, node_record> nodes_;
  std::map<std::string, int16_t> shared_;
};

} // namespace meshrt
